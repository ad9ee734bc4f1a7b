#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: patch_plan
short_description: Plan a capacity-aware rolling patch of a cluster - order and batch size, as data
version_added: 0.1.0
description:
  - Computes how many hosts can be in maintenance at once so that the hosts left up still hold every running VM
    (memory with the cluster's over-commit, and vCPUs with O(cpu_overcommit)) and could still restart the HA VMs
    of one more failed host (N+1, reserving the largest host), then batches the hosts that have an update.
  - A canary batch of one goes first; the SPM and hosted-engine hosts go last; hosts already up to date are
    left out (so a re-run after a stop resumes where it stopped).
  - Only reads. The update flags are the Engine's, from its last update check (M(sre.ovirt.host_upgrade)
    C(action=check)).
author:
  - SRE oVirt team (@sre-ovirt)
extends_documentation_fragment:
  - sre.ovirt.engine
  - sre.ovirt.slo_policy.read_only
  - sre.ovirt.attributes.info_module
options:
  cluster:
    description: Cluster name.
    type: str
    required: true
  canary:
    description: Patch one host alone first.
    type: bool
    default: true
  n_plus_one:
    description: Keep room to restart the HA VMs of one more failed host.
    type: bool
    default: true
  max_batch:
    description: Never more hosts at once than this (0 - no limit beyond capacity).
    type: int
    default: 0
  cpu_overcommit:
    description: vCPUs per physical core the hosts left up may carry.
    type: float
    default: 4.0
"""

EXAMPLES = r"""
- name: What would the roll do?
  sre.ovirt.patch_plan:
    cluster: Default
  register: plan

- name: Show it
  ansible.builtin.debug:
    var: plan.batches
"""

RETURN = r"""
batches:
  description: Host names per batch, in order.
  returned: always
  type: list
  elements: list
batch_size:
  description: Hosts in maintenance at once after the canary.
  returned: always
  type: int
up_to_date:
  description: Hosts with no update.
  returned: always
  type: list
  elements: str
vms_up:
  description: Names of the cluster's VMs that were C(up) when the plan was made (what the roll must keep up).
  returned: always
  type: list
  elements: str
capacity:
  description: The numbers behind the batch size (GiB and vCPUs).
  returned: always
  type: dict
"""

try:
    from ansible_collections.sre.ovirt.plugins.module_utils.model.capacity import (
        cpu_count, memory_overcommit_percent, schedulable_memory)
    from ansible_collections.sre.ovirt.plugins.module_utils.model.vm_status import OCCUPYING
    from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import EngineError, where
except ImportError:  # pragma: no cover
    pass

GIB = 2 ** 30


def plan(cluster, hosts, vms, p):
    pct = memory_overcommit_percent(cluster)
    mem = dict((h.name, schedulable_memory(h, pct)) for h in hosts)
    cpu = dict((h.name, cpu_count(h) * p["cpu_overcommit"]) for h in hosts)
    up = [h for h in hosts if h.status.value == "up"]
    running = [v for v in vms if v.status.value in OCCUPYING]
    need_mem = sum(v.memory or 0 for v in running)
    need_cpu = sum(cpu_count(v) for v in running)
    todo = [h for h in hosts if h.update_available]
    skipped = sorted(h.name for h in hosts if not h.update_available)
    last = [h for h in todo if (h.spm and h.spm.status and h.spm.status.value == "spm") or
            (h.hosted_engine and h.hosted_engine.configured)]
    first = sorted((h for h in todo if h not in last), key=lambda h: h.name)
    order = first + sorted(last, key=lambda h: h.name)
    reserve_mem = max(mem.values()) if p["n_plus_one"] and mem else 0
    reserve_cpu = max(cpu.values()) if p["n_plus_one"] and cpu else 0
    total_mem = sum(mem[h.name] for h in up)
    total_cpu = sum(cpu[h.name] for h in up)
    # The largest hosts out at once is the worst case for any batch of k.
    by_mem = sorted((mem[h.name] for h in up), reverse=True)
    by_cpu = sorted((cpu[h.name] for h in up), reverse=True)
    k = 0
    while k < len(up) - 1:
        out_mem, out_cpu = sum(by_mem[:k + 1]), sum(by_cpu[:k + 1])
        if need_mem > total_mem - out_mem - reserve_mem or need_cpu > total_cpu - out_cpu - reserve_cpu:
            break
        k += 1
    if p["max_batch"]:
        k = min(k, p["max_batch"])
    capacity = {"memory_gib": round(total_mem / float(GIB), 1), "running_memory_gib": round(need_mem / float(GIB), 1),
                "reserve_memory_gib": round(reserve_mem / float(GIB), 1), "vcpus": int(total_cpu),
                "running_vcpus": need_cpu, "hosts_up": len(up)}
    if todo and k < 1:
        return None, capacity, skipped, ("no host can be taken out of cluster %s: the hosts left up could not hold "
                                         "the running VMs%s" % (cluster.name, " and one failed host's HA VMs"
                                                                if p["n_plus_one"] else ""))
    batches = []
    rest = list(order)
    if p["canary"] and rest:
        batches.append([rest.pop(0).name])
    # SPM / hosted-engine hosts each in a batch of their own, at the end.
    tail = [h for h in rest if h in last]
    rest = [h for h in rest if h not in last]
    while rest:
        batches.append([h.name for h in rest[:k]])
        rest = rest[k:]
    batches += [[h.name] for h in tail]
    return {"batches": batches, "batch_size": k}, capacity, skipped, None


def main():
    module = EngineModule(argument_spec=dict(
        cluster=dict(type="str", required=True), canary=dict(type="bool", default=True),
        n_plus_one=dict(type="bool", default=True), max_batch=dict(type="int", default=0),
        cpu_overcommit=dict(type="float", default=4.0)), supports_check_mode=True, waits=False, mutating=False)
    p = module.params
    if p["max_batch"] < 0:
        module.fail_json(msg="max_batch: 0 (no limit) or a positive number of hosts, got %d" % p["max_batch"],
                         field="max_batch")
    if p["cpu_overcommit"] <= 0:
        module.fail_json(msg="cpu_overcommit: a positive ratio of vCPUs to host cores, got %s" % p["cpu_overcommit"],
                         field="cpu_overcommit")
    try:
        system = module.client.system_service()
        cluster = module.require(system.clusters_service(), p["cluster"], "cluster", "cluster")
        hosts = system.hosts_service().list(search=where("cluster", p["cluster"]))
        vms = system.vms_service().list(search=where("cluster", p["cluster"]))
    except EngineError as exc:
        module.fail_from(exc)
    out, capacity, skipped, error = plan(cluster, hosts, vms, p)
    if error:
        module.fail_json(msg=error, capacity=capacity, up_to_date=skipped)
    module.exit_json(changed=False, batches=out["batches"], batch_size=out["batch_size"], up_to_date=skipped,
                     capacity=capacity, vms_up=sorted(v.name for v in vms if v.status.value == "up"))


if __name__ == "__main__":
    main()
