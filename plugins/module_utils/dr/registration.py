# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Engine's registration configuration (``registration_configuration`` of a VM/template register action),
built from a DR mapping, and the per-VM decisions made before registering (which cluster, what is missing)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.sre.ovirt.plugins.module_utils.dr.mapping import lookup
from ansible_collections.sre.ovirt.plugins.module_utils.model import dr as facts

try:
    from ovirtsdk4 import types
except ImportError:  # pragma: no cover - reported by EngineModule
    types = None

# mapping section -> (SDK mapping type, SDK "from/to" type, registration_configuration attribute)
_NAMED = (
    ("clusters", "RegistrationClusterMapping", "Cluster", "cluster_mappings"),
    ("affinity_groups", "RegistrationAffinityGroupMapping", "AffinityGroup", "affinity_group_mappings"),
    ("affinity_labels", "RegistrationAffinityLabelMapping", "AffinityLabel", "affinity_label_mappings"),
    ("domains", "RegistrationDomainMapping", "Domain", "domain_mappings"),
    ("roles", "RegistrationRoleMapping", "Role", "role_mappings"),
)


class RegistrationError(Exception):
    def __init__(self, msg, field=None):
        super(RegistrationError, self).__init__(msg)
        self.field = field


def profile_ids(profiles):
    """{(network name, profile name): profile id} from the secondary's vNIC profiles
    (``[{"network", "profile", "id"}]``)."""
    return dict(((p["network"], p["profile"]), p["id"]) for p in profiles)


def build(mapping, secondary_profiles, kind="vm", field="mappings"):
    """A ``types.RegistrationConfiguration`` for every entry of the mapping (None when it maps nothing).

    ``secondary_profiles``: the secondary's vNIC profiles (``[{"network", "profile", "id"}]``): the Engine maps a
    vNIC to a target profile id. A mapping that names a secondary profile the Engine does not have fails here,
    before any registration, naming it. Templates have no vNIC-profile ownership rules of their own: the same
    mappings apply."""
    kwargs = {}
    for section, mapping_type, ref_type, attr in _NAMED:
        entries = [e for e in (mapping or {}).get(section) or [] if e.get("primary") != e.get("secondary")]
        if entries:
            cls, ref = getattr(types, mapping_type), getattr(types, ref_type)
            kwargs[attr] = [cls(from_=ref(name=e["primary"]), to=ref(name=e["secondary"])) for e in entries]
    ids = profile_ids(secondary_profiles)
    vnics = []
    for i, e in enumerate((mapping or {}).get(facts.PROFILE_SECTION) or []):
        target = (e.get("secondary_network"), e.get("secondary_profile"))
        if target not in ids:
            raise RegistrationError("%s.vnic_profiles[%d]: no vNIC profile %s on network %s on this Engine" % (
                field, i, target[1], target[0]), field=field)
        vnics.append(types.RegistrationVnicProfileMapping(
            from_=types.VnicProfile(name=e["primary_profile"], network=types.Network(name=e["primary_network"])),
            to=types.VnicProfile(id=ids[target])))
    if vnics:
        kwargs["vnic_profile_mappings"] = vnics
    return types.RegistrationConfiguration(**kwargs) if kwargs else None


def target_cluster(ovf_cluster, mapping, default, clusters):
    """(cluster name, None) for one VM, or (None, reason) when it cannot be placed.

    The cluster mapping of the VM's cluster decides, else the ``cluster`` option, else the cluster the OVF names
    (the Engine's own default); the result must exist on this Engine (``clusters``: names)."""
    mapped = lookup(mapping, "clusters", ovf_cluster) if ovf_cluster else None
    name = mapped or default or ovf_cluster
    if name is None:
        return None, "its configuration names no cluster; set cluster or map one"
    if name not in clusters:
        if mapped:
            return None, "cluster %s (mapped from %s) does not exist on this Engine" % (name, ovf_cluster)
        if default:
            return None, "cluster %s (the cluster option) does not exist on this Engine" % name
        return None, ("cluster %s of its configuration is not mapped (mappings.clusters) and does not exist on this "
                      "Engine; set cluster or map it" % name)
    return name, None


def missing_disks(expected, present):
    """Disks of the VM's configuration (``[{"id", "alias"}]``) that are not among ``present`` (ids)."""
    return [d for d in expected if d["id"] not in present]


def describe_disks(disks):
    return ", ".join("%s (%s)" % (d.get("alias") or "?", d["id"]) for d in disks)


# How the Engine names disks it could not attach or find, in a refusal or in the warning event of a partial import.
_DISK_LISTS = (
    re.compile(r"disk\(s\) (?:could not be found on the Storage Domain|failed to attach)\s*:\s*([^.;]+)", re.I),
    re.compile(r"\bDisks?\s*:\s*([^.;]+)"),
)
PARTIAL_TEXT = "imported from the given configuration but"


def disks_named(text):
    """The disk aliases (or ids) an Engine message names as missing, in order, without duplicates."""
    out = []
    for pattern in _DISK_LISTS:
        for m in pattern.finditer(text or ""):
            for name in m.group(1).split(","):
                name = name.strip()
                if name and name not in out:
                    out.append(name)
    return out


_MISSING_ENTITIES = re.compile(r"entities were missing\s*:\s*(.+?)\.?$", re.I | re.S)


def entities_named(text):
    """What else (not disks) an Engine warning says is missing: "Vnic Mappings: app/app", "Affinity groups: g"."""
    m = _MISSING_ENTITIES.search(text or "")
    if not m:
        return []
    return [part.strip() for part in m.group(1).split(";") if part.strip() and
            not re.match(r"disks?\s*:", part.strip(), re.I)]
