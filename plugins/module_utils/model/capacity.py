# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Host capacity: what occupies a host, how much memory the scheduler may commit, CPU counts from a topology."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def memory_overcommit_percent(cluster):
    """The cluster's memory over-commit (100 when the Engine gives none)."""
    oc = cluster.memory_policy.over_commit if cluster.memory_policy is not None else None
    return (oc.percent if oc is not None else None) or 100


def schedulable_memory(host, percent):
    """Memory the scheduler may commit on ``host`` at the cluster's over-commit ``percent``."""
    return (host.memory or 0) * percent // 100


def cpu_count(obj):
    """Sockets x cores x threads of a host's or a VM's CPU topology (1 when the Engine gives none)."""
    t = obj.cpu.topology if obj.cpu is not None and obj.cpu.topology is not None else None
    return (t.sockets or 1) * (t.cores or 1) * (t.threads or 1) if t is not None else 1
