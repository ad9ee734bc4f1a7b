# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Engine's event codes (AuditLogType) the collection reads, by name, and what they mean together.

Every module and SLI reader takes codes from here: two readers that disagree on what a code means count the same
history differently (the ledger collector and the Engine replay once disagreed on 113)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import re

# VMs
USER_RUN_VM = 32
USER_STOP_VM = 33
VM_DOWN = 61
VM_MIGRATION_DONE = 63
VM_MIGRATION_FAILED = 65
USER_INITIATED_SHUTDOWN_VM = 73
USER_REMOVE_VM_FINISHED = 113
VM_DOWN_ERROR = 119
USER_STARTED_VM = 153
VDS_INITIATED_RUN_VM = 506
HA_VM_FAILED = 9602
# hosts
VDS_MAINTENANCE_FAILED = 17
VDS_FENCE_STATUS = 496
VDS_FENCE_STATUS_FAILED = 497
HOST_AVAILABLE_UPDATES_FAILED = 839
HOST_UPGRADE_STARTED = 840
HOST_UPGRADE_FAILED = 841
HOST_UPGRADE_FINISHED = 842
HOST_AVAILABLE_UPDATES_FINISHED = 885
HOST_UPGRADE_FINISHED_AND_WILL_BE_REBOOTED = 888
VDS_HOST_NOT_RESPONDING = 9027

# What they mean for a VM's availability
VM_CAME_UP = (USER_RUN_VM, VDS_INITIATED_RUN_VM)
VM_CRASHED = (VM_DOWN_ERROR, HA_VM_FAILED)
# Stopped or removed on purpose: the VM is no longer expected to run, its time stops counting.
VM_STOPPED_ON_PURPOSE = (USER_STOP_VM, VM_DOWN, USER_INITIATED_SHUTDOWN_VM, USER_REMOVE_VM_FINISHED)

_DURATION = re.compile(r"Duration:\s*(\d+)\s*s", re.I)


def migration_seconds(description):
    """The duration a migration-done event reports ("… Duration: 12 seconds …"), or None."""
    m = _DURATION.search(description or "")
    return float(m.group(1)) if m else None


def epoch(dt):
    """An SDK datetime (the Engine's clock) as epoch seconds."""
    return calendar.timegm(dt.utctimetuple()) + dt.microsecond / 1e6
