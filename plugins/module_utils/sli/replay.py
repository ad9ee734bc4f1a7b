# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SLIs from the Engine alone, for teams with neither a ledger nor Prometheus: the Engine's events over the
window (it keeps 30 days by default) and its current statistics, replayed into an in-memory ledger.

- ``vm_boot_seconds``: a start (153) followed by the VM coming up (32, or 506 for an HA restart).
- ``vm_migration_seconds``: the duration in a migration-done event (63).
- ``vm_up``: per VM, time after it came up (32/506) is up, after a crash (119, 9602) down, after a user's
  stop or removal (33, 61, 73, 113) not counted; a VM up now with no event in the window counts as up for the whole window.
- ``storage_io_seconds``: the disks' current latency statistics only (so a 30-day SLO is ``no_data`` until
  history exists elsewhere: the Engine keeps none).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sre.ovirt.plugins.module_utils.client.search import of_types, where
from ansible_collections.sre.ovirt.plugins.module_utils.sli.ledger import Ledger
from ansible_collections.sre.ovirt.plugins.module_utils.model import events as ev_codes
from ansible_collections.sre.ovirt.plugins.module_utils.model.events import epoch, migration_seconds

UP, CRASH, USER_STOP = ev_codes.VM_CAME_UP, ev_codes.VM_CRASHED, ev_codes.VM_STOPPED_ON_PURPOSE
START, MIGRATED = ev_codes.USER_STARTED_VM, ev_codes.VM_MIGRATION_DONE
CODES = sorted(set(UP + CRASH + USER_STOP + (START, MIGRATED)))
SLICE = 300.0


def rows_from_events(events, vms_up_now, now, window):
    """Ledger rows from ``events`` (objects with id, code, time as epoch, vm_id, description)."""
    rows, start = [], now - window
    by_vm, started = {}, {}
    for ev in sorted(events, key=lambda e: (e["time"], int(e["id"]))):
        vm = ev["vm_id"]
        if ev["code"] == START and vm:
            started[vm] = ev["time"]
        if ev["code"] in UP and vm and vm in started:
            rows.append(("vm_boot_seconds", ev["time"] - started.pop(vm), ev["time"], 1.0, vm, "event:%s" % ev["id"]))
        if ev["code"] == MIGRATED:
            seconds = migration_seconds(ev["description"])
            if seconds is not None:
                rows.append(("vm_migration_seconds", seconds, ev["time"], 1.0, vm, "event:%s" % ev["id"]))
        if vm:
            state = "up" if ev["code"] in UP else "down" if ev["code"] in CRASH else \
                "off" if ev["code"] in USER_STOP else None
            if state:
                by_vm.setdefault(vm, []).append((ev["time"], state))
    for vm in vms_up_now:
        if vm not in by_vm:
            by_vm[vm] = [(start, "up")]
    for vm, changes in by_vm.items():
        changes.append((now, "end"))
        for (t0, state), (t1, dummy) in zip(changes, changes[1:]):
            if state not in ("up", "down"):
                continue
            t = max(t0, start)
            while t < t1:
                nxt = min(t1, (t // SLICE + 1) * SLICE)
                rows.append(("vm_up", 1.0 if state == "up" else 0.0, t, nxt - t, vm, None))
                t = nxt
    return rows


def engine_ledger(system, now, window, storage_disks=20):
    """An in-memory ledger holding what the Engine can tell about the last ``window`` seconds."""
    events = [{"id": e.id, "code": e.code, "time": epoch(e.time), "description": e.description,
               "vm_id": e.vm.id if e.vm is not None else None}
              for e in system.events_service().list(search=of_types(*CODES))]
    # Events before the window stay: they give each VM's state when the window opens.
    up_now = [v.id for v in system.vms_service().list(search=where("status", "up"))]
    rows = rows_from_events(events, up_now, now, window)
    disks = system.disks_service()
    for disk in disks.list(max=storage_disks):
        for stat in disks.disk_service(disk.id).statistics_service().list():
            if stat.name in ("disk.read.latency", "disk.write.latency") and stat.values:
                rows.append(("storage_io_seconds", float(stat.values[0].datum), now, 1.0, disk.id, None))
    ledger = Ledger(":memory:", clock=lambda: now)
    ledger.record_many(rows)
    return ledger
