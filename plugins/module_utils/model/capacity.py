# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What occupies a host: the VM statuses that hold its memory and CPUs, and CPU counts from a topology."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# A VM in one of these holds memory and vCPUs on its host (it must move, or be stopped, before maintenance).
OCCUPYING = ("up", "powering_up", "wait_for_launch", "migrating", "paused", "reboot_in_progress", "unknown",
             "not_responding", "powering_down")


def cpu_count(obj):
    """Sockets x cores x threads of a host's or a VM's CPU topology (1 when the Engine gives none)."""
    t = obj.cpu.topology if obj.cpu is not None and obj.cpu.topology is not None else None
    return (t.sockets or 1) * (t.cores or 1) * (t.threads or 1) if t is not None else 1
