# SPDX-License-Identifier: GPL-3.0-or-later
"""``/clusterlevels``: the cluster compatibility levels the Engine supports (ConfigValues.SupportedClusterLevels),
each with its CPU types (ServerCPUList) and every permit (ActionGroup.values(), BackendClusterLevelsResource)."""

import ovirtsdk4
from ovirtsdk4 import types as T

from .model import ApiError
from .permits import ACTION_GROUPS

SUPPORTED_LEVELS = ("4.2", "4.3", "4.4", "4.5", "4.6", "4.7", "4.8")
# ServerCPUList (x86_64): level, name
_X86 = [(1, "Intel Nehalem Family"), (2, "Secure Intel Nehalem Family"), (3, "Intel Westmere Family"),
        (4, "Secure Intel Westmere Family"), (5, "Intel SandyBridge Family"), (6, "Secure Intel SandyBridge Family"),
        (7, "Intel IvyBridge Family"), (8, "Secure Intel IvyBridge Family"), (9, "Intel Haswell Family"),
        (10, "Secure Intel Haswell Family"), (11, "Intel Broadwell Family"), (12, "Secure Intel Broadwell Family"),
        (13, "Intel Skylake Client Family"), (14, "Secure Intel Skylake Client Family"),
        (15, "Intel Skylake Server Family"), (16, "Secure Intel Skylake Server Family"),
        (17, "Intel Cascadelake Server Family"), (18, "Secure Intel Cascadelake Server Family"),
        (19, "Intel Icelake Server Family"), (20, "Secure Intel Icelake Server Family"),
        (1, "AMD Opteron G4"), (2, "AMD Opteron G5"), (3, "AMD EPYC"), (4, "Secure AMD EPYC")]


class LevelsMixin:
    def _cluster_level(self, version):
        href = "/ovirt-engine/api/clusterlevels/%s" % version
        level = T.ClusterLevel(id=version, cpu_types=[
            T.CpuType(name=name, level=lvl, architecture=T.Architecture.X86_64) for lvl, name in _X86])
        permits = []
        for pid, (name, admin) in ACTION_GROUPS.items():
            permits.append(T.Permit(id=pid, name=name, administrative=admin))
        level.permits = permits
        level.href = href
        level.cluster_features = ovirtsdk4.List(href + "/clusterfeatures")
        return level

    def list_clusterlevels(self, parent, query):
        return [self._cluster_level(v) for v in SUPPORTED_LEVELS]

    def get_clusterlevels(self, parent, version, query):
        if version not in SUPPORTED_LEVELS:
            raise ApiError(404)
        return self._cluster_level(version)

    def view_clusterlevels_clusterfeatures(self, version, query):
        if version not in SUPPORTED_LEVELS:
            raise ApiError(404)
        return []
