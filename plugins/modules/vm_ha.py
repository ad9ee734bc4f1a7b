#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vm_ha
short_description: A VM's high-availability policy - HA and priority, storage lease, resume behaviour, placement, affinity
version_added: 0.1.0
description:
  - Sets what decides whether and where a VM comes back when its host dies, exactly and idempotently
    (a second run sends no mutating request), with check mode and diff.
  - A storage lease lets the Engine restart the VM elsewhere even when its host cannot be fenced; add, move
    (give another domain) or remove it (O(lease=""); the lease can change while the VM runs).
  - Only the options given are managed.
author:
  - SRE oVirt team (@sre-ovirt)
extends_documentation_fragment:
  - sre.ovirt.engine
  - sre.ovirt.slo_policy
  - sre.ovirt.attributes
options:
  name:
    description: VM name.
    type: str
    required: true
  high_availability:
    description: Restart the VM automatically when it or its host fails.
    type: bool
  priority:
    description: HA priority; higher restarts first. The Engine's UI levels are 1 (low), 50 (medium), 100 (high).
    type: int
  lease:
    description: Storage domain holding the VM's lease; an empty string removes the lease.
    type: str
  resume_behavior:
    description: What happens when the VM was paused by a storage error and the storage comes back.
    type: str
    choices: [auto_resume, leave_paused, kill]
  placement:
    description: Migration and pinning.
    type: dict
    suboptions:
      affinity:
        description: C(migratable), C(user_migratable) (only by an admin) or C(pinned) (never migrated).
        type: str
        choices: [migratable, user_migratable, pinned]
      hosts:
        description: Hosts the VM may run on (pinned to, with C(pinned)); an empty list clears it.
        type: list
        elements: str
  affinity_groups:
    description: Affinity groups of the VM's cluster the VM must be a member of.
    type: list
    elements: str
  purge_affinity_groups:
    description: Also remove the VM from the cluster's affinity groups not listed.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Gold tier database
  sre.ovirt.vm_ha:
    name: db01
    high_availability: true
    priority: 100
    lease: data-nfs
    resume_behavior: kill
    affinity_groups: [db-apart]
"""

RETURN = r"""
next_run_pending:
  description: Part of the change (pinning to hosts) applies when the running VM next restarts.
  returned: always
  type: bool
ha:
  description: The VM's HA settings after the run.
  returned: always
  type: dict
  sample: {high_availability: true, priority: 100, lease: data-nfs, resume_behavior: kill,
           placement: {affinity: migratable, hosts: []}, affinity_groups: [db-apart]}
"""

try:
    from ovirtsdk4 import types as otypes
except ImportError:  # pragma: no cover
    otypes = None

try:
    from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule, TaskFailed
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import EngineError, get_by_name
except ImportError:  # pragma: no cover
    pass


def current(system, vm, groups):
    ha = vm.high_availability
    lease = None
    if vm.lease is not None and vm.lease.storage_domain is not None:
        lease = system.storage_domains_service().storage_domain_service(vm.lease.storage_domain.id).get().name
    pp = vm.placement_policy
    hosts = []
    if pp is not None and pp.hosts:
        hs = system.hosts_service()
        hosts = sorted(hs.host_service(h.id).get().name for h in pp.hosts)
    return {"high_availability": bool(ha and ha.enabled), "priority": ha.priority if ha else 0, "lease": lease,
            "resume_behavior": vm.storage_error_resume_behaviour.value if vm.storage_error_resume_behaviour else None,
            "placement": {"affinity": pp.affinity.value if pp is not None and pp.affinity else "migratable",
                          "hosts": hosts},
            "affinity_groups": sorted(g.name for g in groups if vm.id in [v.id for v in (g.vms or [])])}


def main():
    module = EngineModule(argument_spec=dict(
        name=dict(type="str", required=True), high_availability=dict(type="bool"), priority=dict(type="int"),
        lease=dict(type="str"), resume_behavior=dict(type="str", choices=["auto_resume", "leave_paused", "kill"]),
        placement=dict(type="dict", options=dict(
            affinity=dict(type="str", choices=["migratable", "user_migratable", "pinned"]),
            hosts=dict(type="list", elements="str"))),
        affinity_groups=dict(type="list", elements="str"), purge_affinity_groups=dict(type="bool", default=False)),
        supports_check_mode=True, waits=False)
    p = module.params
    if p["priority"] is not None and not 0 <= p["priority"] <= 100:
        module.fail_json(msg="priority: must be between 0 and 100, got %d" % p["priority"], field="priority")
    try:
        result = run(module, p)
    except EngineError as exc:
        module.fail_from(exc)
    module.exit_json(**result)


def run(module, p):
    system = module.client.system_service()
    vm = module.require(system.vms_service(), p["name"], "VM", "name")
    pending = bool(vm.next_run_configuration_exists)
    if pending:  # compare with what the VM will run with after its next restart
        vm = system.vms_service().vm_service(vm.id).get(next_run=True)
    groups_svc = system.clusters_service().cluster_service(vm.cluster.id).affinity_groups_service()
    groups = groups_svc.list(follow="vms")
    have = current(system, vm, groups)
    want = dict(have, placement=dict(have["placement"]))
    for key in ("high_availability", "priority", "resume_behavior"):
        if p[key] is not None:
            want[key] = p[key]
    if p["lease"] is not None:
        want["lease"] = p["lease"] or None
    if p["placement"]:
        if p["placement"]["affinity"] is not None:
            want["placement"]["affinity"] = p["placement"]["affinity"]
        if p["placement"]["hosts"] is not None:
            want["placement"]["hosts"] = sorted(p["placement"]["hosts"])
    if p["affinity_groups"] is not None:
        known = dict((g.name, g) for g in groups)
        unknown = sorted(set(p["affinity_groups"]) - set(known))
        if unknown:
            raise TaskFailed("affinity_groups: %s not in the VM's cluster (known: %s)" % (
                ", ".join(unknown), ", ".join(sorted(known)) or "none"), field="affinity_groups")
        keep = set(p["affinity_groups"]) | (set() if p["purge_affinity_groups"] else set(have["affinity_groups"]))
        want["affinity_groups"] = sorted(keep)
    changed = want != have
    module.diff = {"before": have, "after": want}
    if not changed or module.check_mode:
        return dict(changed=changed, ha=want, next_run_pending=pending)
    apply(system, vm, have, want, groups, p)
    after = system.vms_service().vm_service(vm.id).get()
    return dict(changed=True, ha=want, next_run_pending=bool(after.next_run_configuration_exists))


def apply(system, vm, have, want, groups, p):
    patch = otypes.Vm()
    dirty = False
    if (want["high_availability"], want["priority"]) != (have["high_availability"], have["priority"]):
        patch.high_availability = otypes.HighAvailability(enabled=want["high_availability"], priority=want["priority"])
        dirty = True
    if want["resume_behavior"] != have["resume_behavior"]:
        patch.storage_error_resume_behaviour = otypes.VmStorageErrorResumeBehaviour(want["resume_behavior"])
        dirty = True
    if want["lease"] != have["lease"]:
        if want["lease"]:
            sd = get_by_name(system.storage_domains_service(), want["lease"], "storage domain")
            if sd is None:
                raise EngineError("lease: no storage domain named %s" % want["lease"])
            patch.lease = otypes.StorageDomainLease(storage_domain=otypes.StorageDomain(id=sd.id))
        else:
            patch.lease = otypes.StorageDomainLease()
        dirty = True
    if want["placement"] != have["placement"]:
        hosts = []
        for name in want["placement"]["hosts"]:
            h = get_by_name(system.hosts_service(), name, "host")
            if h is None:
                raise EngineError("placement.hosts: no host named %s" % name)
            hosts.append(otypes.Host(id=h.id))
        patch.placement_policy = otypes.VmPlacementPolicy(affinity=otypes.VmAffinity(want["placement"]["affinity"]),
                                                          hosts=hosts)
        dirty = True
    if dirty:
        system.vms_service().vm_service(vm.id).update(patch)
    if want["affinity_groups"] != have["affinity_groups"]:
        svc = system.clusters_service().cluster_service(vm.cluster.id).affinity_groups_service()
        for g in groups:
            member = g.name in have["affinity_groups"]
            if g.name in want["affinity_groups"] and not member:
                svc.group_service(g.id).vms_service().add(otypes.Vm(id=vm.id))
            elif member and g.name not in want["affinity_groups"]:
                svc.group_service(g.id).vms_service().vm_service(vm.id).remove()


if __name__ == "__main__":
    main()
