#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_maintenance
short_description: Put a host in maintenance (migrating its VMs away, with a deadline) or activate it
version_added: 0.1.0
description:
  - C(maintenance) migrates the host's VMs away and waits until the host is in maintenance; it fails with the
    VMs that would not move and why (the Engine's answer), and the host is left C(up).
  - VMs that cannot migrate (pinned, non-migratable) stop the change before anything is sent, naming them,
    unless O(stop_pinned=true) - then they are shut down gracefully first and listed in RV(stopped_vms) so they
    can be started again when the host is back.
  - C(active) activates the host and waits until it is C(up), then starts the VMs named in O(start_vms) that
    are down (those RV(stopped_vms) of the maintenance) and waits until they run. Activation only returns
    capacity, so the SLO gate treats it as a C(remediation) - it passes when the error budget is spent.
  - Records the time to reach maintenance and the migration durations to the SLI ledger when a policy is set.
author:
  - SRE oVirt team (@sre-ovirt)
extends_documentation_fragment:
  - sre.ovirt.engine
  - sre.ovirt.wait
  - sre.ovirt.slo_policy
  - sre.ovirt.attributes
options:
  host:
    description: Host name.
    type: str
    required: true
  state:
    description: C(maintenance) or C(active).
    type: str
    choices: [maintenance, active]
    default: maintenance
  stop_pinned:
    description: Shut down the host's VMs that cannot migrate, instead of refusing.
    type: bool
    default: false
  reason:
    description: Reason recorded with the maintenance.
    type: str
  start_vms:
    description:
      - With O(state=active), VMs to start once the host is up (VMs already running are left alone). Use the
        RV(stopped_vms) of the maintenance, so VMs that could not migrate are down only while their own host is.
    type: list
    elements: str
    default: []
  probe:
    description:
      - With O(state=active), prove the host can run VMs, not just that it reports C(up) - if no VM runs there
        once it is up, migrate the smallest running migratable VM of the cluster onto it and wait until it runs
        there. Fails naming the host and the VM when it does not.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The host's status before and after.
"""

EXAMPLES = r"""
- name: Drain host07 for patching
  sre.ovirt.host_maintenance:
    host: host07
    stop_pinned: true
    reason: monthly patching CHG-4711
  register: drained

- name: Back in service, with the VMs that were shut down for it
  sre.ovirt.host_maintenance:
    host: host07
    state: active
    start_vms: "{{ drained.stopped_vms }}"
"""

RETURN = r"""
host_status:
  description: The host's status at the end.
  returned: always
  type: str
stopped_vms:
  description: VMs shut down because they could not migrate (start them again when the host is back).
  returned: always
  type: list
  elements: str
migrated_vms:
  description: VMs that were on the host and migrated away.
  returned: always
  type: list
  elements: str
started_vms:
  description: VMs of O(start_vms) that were down and were started.
  returned: always
  type: list
  elements: str
probe_vm:
  description: The VM migrated onto the host by O(probe), when one was.
  returned: when O(probe) migrated a VM
  type: str
not_migrated:
  description: When maintenance failed, the VMs still running on the host.
  returned: on failure
  type: list
  elements: str
seconds:
  description: Time from the request until the host reached the state.
  returned: when changed and not in check mode
  type: float
"""

import time

try:
    from ansible_collections.sre.ovirt.plugins.module_utils.model.vm_status import OCCUPYING
    from ansible_collections.sre.ovirt.plugins.module_utils.model.events import (
        VDS_MAINTENANCE_FAILED, VM_MIGRATION_DONE, VM_MIGRATION_FAILED, migration_seconds)
    from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule, TaskFailed
    from ansible_collections.sre.ovirt.plugins.module_utils.client.wait import wait_for
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import (
        EngineConflict, EngineError, EngineFailedState, all_of, last_event_id, of_types, where)
except ImportError:  # pragma: no cover
    pass
try:
    from ovirtsdk4 import types as otypes
except ImportError:  # pragma: no cover - EngineModule reports the missing SDK
    otypes = None


def main():
    module = EngineModule(argument_spec=dict(
        host=dict(type="str", required=True),
        state=dict(type="str", choices=["maintenance", "active"], default="maintenance"),
        stop_pinned=dict(type="bool", default=False), reason=dict(type="str"),
        start_vms=dict(type="list", elements="str", default=[]), probe=dict(type="bool", default=False)),
        supports_check_mode=True,
        # Activating a host restores capacity: it passes the gate as a remediation.
        change_class=lambda p: "remediation" if p["state"] == "active" else None)
    try:
        result = run(module, module.params)
    except EngineError as exc:
        module.fail_from(exc)
    module.exit_json(**result)


def wait_host(module, hsvc, p, wanted, failed, what, seen):
    holder = {}

    def fetch():
        holder["h"] = hsvc.get()
        seen.add(holder["h"].status.value)
        return holder["h"]
    wait_for(fetch, done=lambda h: h.status.value in wanted, failed=failed, timeout=p["timeout"],
             interval=p["poll_interval"], what=what, check_mode=module.check_mode,
             describe=lambda h: "host %s is %s" % (p["host"], h.status.value),
             latest_error=lambda: module.latest_error_event(host_id=holder["h"].id if holder else None))
    return holder["h"]


def gave_up(system, host, mark):
    """The Engine's own word (event 17) that it stopped moving this host to maintenance since ``mark``."""
    return any(e.host is not None and e.host.id == host.id
               for e in system.events_service().list(from_=mark, search=of_types(VDS_MAINTENANCE_FAILED)))


def activate(module, system, hsvc, host, p, result):
    vms_svc = system.vms_service()
    wanted = []
    for name in p["start_vms"]:
        vm = module.require(vms_svc, name, "VM", "start_vms", **result)
        if vm.status.value == "down":
            wanted.append(vm)
    status = host.status.value
    changed = status != "up" or bool(wanted)
    result.update(changed=changed, started_vms=sorted(v.name for v in wanted),
                  diff={"before": {"status": status}, "after": {"status": "up"}})
    if module.check_mode or not changed:
        return result
    started = time.time()
    if status != "up":
        hsvc.activate()
        final = wait_host(module, hsvc, p, ("up",), lambda h: h.status.value in ("non_operational", "install_failed"),
                          "host %s to be up" % p["host"], set()) if p["wait"] else hsvc.get()
        result["host_status"] = final.status.value
    for vm in wanted:
        vms_svc.vm_service(vm.id).start()
    if p["wait"]:
        for vm in wanted:
            svc = vms_svc.vm_service(vm.id)
            wait_for(svc.get, done=lambda v: v.status.value == "up", failed=lambda v: v.status.value == "down",
                     timeout=p["timeout"], interval=p["poll_interval"], what="VM %s to run" % vm.name, immediate=False,
                     describe=lambda v, n=vm.name: "VM %s is %s" % (n, v.status.value),
                     latest_error=lambda i=vm.id: module.latest_error_event(vm_id=i))
        if p["probe"]:
            probe(module, system, host, p, result)
    return dict(result, seconds=round(time.time() - started, 3))


def probe(module, system, host, p, result):
    vms_svc = system.vms_service()
    if [v for v in vms_svc.list(search=where("host", p["host"])) if v.status.value == "up"]:
        return
    cluster = system.clusters_service().cluster_service(host.cluster.id).get()
    movable = [v for v in vms_svc.list(search=all_of(where("cluster", cluster.name), where("status", "up")))
               if v.host is not None and v.host.id != host.id and
               (v.placement_policy is None or v.placement_policy.affinity is None or
                v.placement_policy.affinity.value == "migratable")]
    if not movable:
        return
    # Hosts of a batch are probed at the same time: each starts at its own place among the smallest VMs, and a
    # VM another probe took first (409) passes to the next; ten refusals in a row are the Engine's answer.
    smallest = sorted(movable, key=lambda v: (v.memory or 0, v.name))[:10]
    start = sum(ord(c) for c in host.name) % len(smallest)
    refused = None
    mark = last_event_id(system.events_service())
    for vm in smallest[start:] + smallest[:start]:
        svc = vms_svc.vm_service(vm.id)
        try:
            svc.migrate(host=otypes.Host(id=host.id))
            break
        except EngineConflict as exc:
            refused = exc
    else:
        raise refused
    result["probe_vm"] = vm.name

    def landed(v):
        if v.status.value != "up" or v.host is None:
            return False
        # Up elsewhere: another host's probe may have taken the VM on after it arrived here (event 63).
        return v.host.id == host.id or any(
            e.host is not None and e.host.id == host.id and e.vm is not None and e.vm.id == vm.id
            for e in system.events_service().list(from_=mark, search=of_types(VM_MIGRATION_DONE)))

    wait_for(svc.get, done=landed, failed=lambda v: v.status.value == "up",
             timeout=p["timeout"], interval=p["poll_interval"], immediate=False,
             what="probe VM %s to run on host %s" % (vm.name, p["host"]),
             describe=lambda v: "VM %s is %s" % (vm.name, v.status.value),
             latest_error=lambda: module.latest_error_event(vm_id=vm.id))


def run(module, p):
    system = module.client.system_service()
    host = module.require(system.hosts_service(), p["host"], "host", "host")
    hsvc = system.hosts_service().host_service(host.id)
    vms_svc = system.vms_service()
    result = {"changed": False, "host_status": host.status.value, "stopped_vms": [], "migrated_vms": [],
              "started_vms": []}
    if p["state"] == "active":
        return activate(module, system, hsvc, host, p, result)

    module.diff = {"before": {"status": host.status.value}, "after": {"status": "maintenance"}}
    if host.status.value == "maintenance":
        return dict(result, diff={"before": module.diff["before"], "after": module.diff["before"]})
    on_host = [v for v in vms_svc.list(search=where("host", p["host"])) if v.status.value in OCCUPYING]
    stuck = [v for v in on_host if v.placement_policy is not None and v.placement_policy.affinity is not None
             and v.placement_policy.affinity.value in ("pinned", "user_migratable")]
    if stuck and not p["stop_pinned"]:
        raise TaskFailed("host %s: VMs that cannot migrate are running there: %s (set stop_pinned to shut them "
                         "down first)" % (p["host"], ", ".join(sorted(v.name for v in stuck))), **result)
    result.update(changed=True, stopped_vms=sorted(v.name for v in stuck),
                  migrated_vms=sorted(v.name for v in on_host if v not in stuck), diff=module.diff)
    if module.check_mode:
        return result
    started = time.time()
    mark = last_event_id(system.events_service())
    for v in stuck:
        vms_svc.vm_service(v.id).shutdown()
    for v in stuck:
        svc = vms_svc.vm_service(v.id)
        wait_for(svc.get, done=lambda vm: vm.status.value == "down", timeout=p["timeout"],
                 interval=p["poll_interval"], what="VM %s to shut down" % v.name,
                 describe=lambda vm: "VM %s is %s" % (v.name, vm.status.value))
    hsvc.deactivate(reason=p["reason"])
    if not p["wait"]:
        return dict(result, host_status=hsvc.get().status.value)
    seen = set()
    try:
        final = wait_host(module, hsvc, p, ("maintenance",),
                          lambda h: h.status.value == "up" and ("preparing_for_maintenance" in seen or
                                                                gave_up(system, host, mark)),
                          "host %s to reach maintenance" % p["host"], seen)
    except EngineFailedState as exc:
        left = [v.name for v in vms_svc.list(search=where("host", p["host"])) if v.status.value in OCCUPYING]
        failures = [e.description for e in system.events_service().list(from_=mark)
                    if e.code in (VDS_MAINTENANCE_FAILED, VM_MIGRATION_FAILED) and
                    (e.host is None or e.host.id == host.id or e.code == VM_MIGRATION_FAILED)]
        result.update(host_status=hsvc.get().status.value, not_migrated=sorted(left))
        raise TaskFailed("host %s did not reach maintenance; VMs that did not move: %s; %s" % (
            p["host"], ", ".join(sorted(left)) or "none", "; ".join(failures) or str(exc)), **result)
    seconds = round(time.time() - started, 3)
    module.record("host_maintenance_seconds", seconds, subject=p["host"])
    for e in system.events_service().list(from_=mark, search=of_types(VM_MIGRATION_DONE)):
        moved = migration_seconds(e.description)
        if moved is not None:
            module.record("vm_migration_seconds", moved, subject=e.vm.id if e.vm else None,
                          source_id="event:%s" % e.id)
    return dict(result, host_status=final.status.value, seconds=seconds)


if __name__ == "__main__":
    main()
