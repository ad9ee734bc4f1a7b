#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: sli_collect
short_description: Sample the Engine into the SLI ledger - VM availability, migrations, storage latency
version_added: 0.1.0
description:
  - Run it on a schedule (an AWX schedule or a cron'd playbook, every minute or few). Each run samples the Engine
    and appends to the SLI ledger of O(slo_policy) (or E(SRE_OVIRT_LEDGER)).
  - B(Availability) - every VM that is expected to run (seen C(up), and not stopped by a user since) adds a
    C(vm_up) row weighing the seconds since its previous sample, value 1 when it is C(up) and 0 otherwise. A VM
    stopped by a user (events 33, 61, 73) or removed stops counting until it is up again. Gaps longer than
    O(max_gap) are not counted (the collector was down, not the VMs).
  - B(Migrations) - live migration durations from the Engine's events (63), de-duplicated by event id.
  - B(Storage latency) - read and write latency of up to O(storage_disks) disks from their statistics.
  - Timestamps are the Engine's clock (C(time) of the API root), so samples line up with its events.
  - Only reads the Engine; in check mode nothing is written to the ledger either.
  - Once a day it compacts the ledger - raw rows older than a day are dropped (the per-minute roll-up the gate
    reads keeps their counts) and everything older than 40 days goes.
author:
  - SRE oVirt team (@sre-ovirt)
extends_documentation_fragment:
  - sre.ovirt.engine
  - sre.ovirt.slo_policy.read_only
  - sre.ovirt.attributes.info_module
options:
  interval:
    description: Seconds a VM's first sample stands for.
    type: int
    default: 60
  max_gap:
    description: Longest time, in seconds, one sample may stand for.
    type: int
    default: 900
  storage_disks:
    description: How many disks' latency statistics to read per run (one request each); 0 skips storage.
    type: int
    default: 20
  events:
    description: Read new Engine events (migrations, user stops).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Sample the Engine every few minutes (AWX schedule)
  sre.ovirt.sli_collect:
    slo_policy:
      ledger_path: /var/lib/sre-ovirt/sli.sqlite
"""

RETURN = r"""
ledger:
  description: The ledger written.
  returned: always
  type: str
recorded:
  description: Rows added per measurement.
  returned: always
  type: dict
  sample: {vm_up: 12, vm_migration_seconds: 1, storage_io_seconds: 40}
vms_down:
  description: Names of VMs expected to run that were not up.
  returned: always
  type: list
  elements: str
engine_time:
  description: The Engine's clock at the sample (epoch seconds).
  returned: always
  type: float
"""


try:
    from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule
    from ansible_collections.sre.ovirt.plugins.module_utils.sli.ledger import Ledger, LedgerError
    from ansible_collections.sre.ovirt.plugins.module_utils.sli.record import ledger_path
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import EngineError, last_event_id
    from ansible_collections.sre.ovirt.plugins.module_utils.model.events import (
        VM_MIGRATION_DONE, VM_STOPPED_ON_PURPOSE, epoch, migration_seconds)
except ImportError:  # pragma: no cover - EngineModule reports the missing SDK
    pass


def main():
    module = EngineModule(
        argument_spec=dict(interval=dict(type="int", default=60), max_gap=dict(type="int", default=900),
                           storage_disks=dict(type="int", default=20), events=dict(type="bool", default=True)),
        supports_check_mode=True, waits=False, mutating=False, reads_policy=True)
    p = module.params
    path = ledger_path(module.slo_policy)
    if not path:
        module.fail_json(msg="no ledger: set slo_policy.ledger_path (or slo_policy at all) or SRE_OVIRT_LEDGER",
                         field="slo_policy.ledger_path")
    try:
        ledger = Ledger(path)
    except LedgerError as exc:
        module.fail_json(msg=str(exc), field="slo_policy.ledger_path")
    rows, down = [], []
    try:
        system = module.client.system_service()
        now = epoch(system.get().time)
        state = ledger.get_meta("collect", {"vms": {}, "event": None})
        vms_state = state["vms"]
        if p["events"]:
            events = system.events_service()
            if state["event"] is None:
                state["event"] = last_event_id(events)
            else:
                for ev in sorted(events.list(from_=state["event"]), key=lambda e: int(e.id)):
                    state["event"] = max(state["event"], int(ev.id))
                    vm_id = ev.vm.id if ev.vm is not None else None
                    if ev.code in VM_STOPPED_ON_PURPOSE and vm_id in vms_state:
                        vms_state[vm_id]["expected"] = False
                    elif ev.code == VM_MIGRATION_DONE:
                        seconds = migration_seconds(ev.description)
                        if seconds is not None:
                            rows.append(("vm_migration_seconds", seconds, epoch(ev.time), 1.0,
                                         vm_id, "event:%s" % ev.id))
        seen = set()
        for vm in system.vms_service().list():
            seen.add(vm.id)
            st = vms_state.get(vm.id) or {"expected": False, "last": None}
            up = vm.status.value == "up"
            if up:
                st["expected"] = True
            if st["expected"]:
                weight = p["interval"] if st["last"] is None else min(now - st["last"], p["max_gap"])
                if weight > 0:
                    rows.append(("vm_up", 1.0 if up else 0.0, now, float(weight), vm.name, None))
                if not up:
                    down.append(vm.name)
            st["last"] = now
            vms_state[vm.id] = st
        for vm_id in list(vms_state):
            if vm_id not in seen:
                del vms_state[vm_id]
        if p["storage_disks"] > 0:
            disks = system.disks_service()
            for disk in disks.list(max=p["storage_disks"]):
                for stat in disks.disk_service(disk.id).statistics_service().list():
                    if stat.name in ("disk.read.latency", "disk.write.latency") and stat.values:
                        rows.append(("storage_io_seconds", float(stat.values[0].datum), now, 1.0, disk.id, None))
    except EngineError as exc:
        ledger.close()
        module.fail_from(exc)
    recorded = {}
    for r in rows:
        recorded[r[0]] = recorded.get(r[0], 0) + 1
    if not module.check_mode:
        try:
            new = ledger.record_many(rows)
            ledger.set_meta("collect", state)
        except LedgerError as exc:
            ledger.close()
            module.fail_json(msg=str(exc), field="slo_policy.ledger_path")
        if new < len(rows):
            recorded["duplicates_skipped"] = len(rows) - new
        # Once a day: drop raw rows older than a day (the roll-up keeps their counts) and all older than 40 days.
        if now - float(ledger.get_meta("compacted_at", 0) or 0) > 86400:
            ledger.clock = lambda: now
            compacted = ledger.compact()
            ledger.set_meta("compacted_at", now)
            recorded["compacted_rows"] = compacted[0] - compacted[1]
    ledger.close()
    module.exit_json(changed=False, ledger=path, recorded=recorded, vms_down=sorted(down), engine_time=now)


if __name__ == "__main__":
    main()
