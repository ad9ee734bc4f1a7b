#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: engine_info
short_description: Read data centers, clusters with capacity, hosts with load, and storage domains
version_added: 0.1.0
description:
  - Returns data centers, clusters with their memory capacity and headroom, hosts with status and load, and
    storage domains with used and available space.
  - One request per kind of object (host statistics are embedded with C(follow)), whatever the size of the
    estate.
author:
  - SRE oVirt team (@sre-ovirt)
extends_documentation_fragment:
  - sre.ovirt.engine
  - sre.ovirt.slo_policy.read_only
  - sre.ovirt.attributes.info_module
options:
  gather:
    description: What to read.
    type: list
    elements: str
    choices: [datacenters, clusters, hosts, storage_domains]
    default: [datacenters, clusters, hosts, storage_domains]
  cluster:
    description: Only this cluster and its hosts.
    type: str
"""

EXAMPLES = r"""
- name: Capacity before a change
  sre.ovirt.engine_info:
    gather: [clusters, hosts]
    cluster: Default
  register: engine

- name: Stop when a cluster could not lose a host
  ansible.builtin.assert:
    that: engine.clusters | selectattr('n_plus_one', 'equalto', false) | list | length == 0
"""

RETURN = r"""
datacenters:
  description: Data centers with status and version.
  returned: when gathered
  type: list
  elements: dict
clusters:
  description:
    - Clusters with C(hosts_up), C(memory_capacity) (memory of the up hosts times the cluster's over-commit),
      C(memory_committed), C(memory_free), C(vms_running), and C(n_plus_one) (whether the running VMs
      would still fit if the largest up host failed).
  returned: when gathered
  type: list
  elements: dict
hosts:
  description:
    - Hosts with C(status), C(cluster), C(memory), C(memory_free) (what the scheduler can still place),
      C(vms_running), C(cpu_load) (5-minute load average), C(cpu_used_percent), C(update_available),
      C(spm).
  returned: when gathered
  type: list
  elements: dict
storage_domains:
  description: Storage domains with C(type), C(status) (in their data center), C(used), C(available), C(committed)
    in bytes, and C(used_percent).
  returned: when gathered
  type: list
  elements: dict
engine_requests:
  description: Number of HTTP requests this task sent to the Engine.
  returned: always
  type: int
"""

from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule
from ansible_collections.sre.ovirt.plugins.module_utils.client.errors import EngineError
from ansible_collections.sre.ovirt.plugins.module_utils.client.convert import statistics_dict
from ansible_collections.sre.ovirt.plugins.module_utils.client.search import where
from ansible_collections.sre.ovirt.plugins.module_utils.model.capacity import memory_overcommit_percent, schedulable_memory

KINDS = ["datacenters", "clusters", "hosts", "storage_domains"]


def _v(enum_value):
    return enum_value.value if enum_value is not None else None


def host_rows(hosts, clusters_by_id):
    rows = []
    for h in hosts:
        stats = statistics_dict(h.statistics)
        summary = h.summary
        rows.append({
            "id": h.id, "name": h.name, "address": h.address, "status": _v(h.status),
            "cluster": clusters_by_id.get(h.cluster.id, h.cluster.id) if h.cluster else None,
            "memory": h.memory, "memory_free": h.max_scheduling_memory,
            "vms_running": summary.active if summary else None,
            "cpu_load": stats.get("cpu.load.avg.5m"),
            "cpu_used_percent": (100.0 - stats["cpu.current.idle"]) if "cpu.current.idle" in stats else None,
            "update_available": h.update_available,
            "spm": _v(h.spm.status) if h.spm is not None else None,
            "power_management": bool(h.power_management and h.power_management.enabled)})
    return rows


def cluster_rows(clusters, hosts, dcs_by_id):
    rows = []
    for c in clusters:
        mine = [h for h in hosts if h.cluster is not None and h.cluster.id == c.id]
        up = [h for h in mine if _v(h.status) == "up"]
        pct = memory_overcommit_percent(c)
        capacity = sum(schedulable_memory(h, pct) for h in up)
        free = sum(h.max_scheduling_memory or 0 for h in up)
        committed = capacity - free
        largest = max([schedulable_memory(h, pct) for h in up] or [0])
        rows.append({
            "id": c.id, "name": c.name, "data_center": dcs_by_id.get(c.data_center.id) if c.data_center else None,
            "hosts": len(mine), "hosts_up": len(up), "memory_capacity": capacity, "memory_committed": committed,
            "memory_free": free, "vms_running": sum((h.summary.active or 0) for h in up if h.summary),
            "memory_overcommit_percent": pct, "n_plus_one": committed <= capacity - largest,
            "resilience": _v(c.error_handling.on_error) if c.error_handling else None,
            "fencing_enabled": bool(c.fencing_policy and c.fencing_policy.enabled)})
    return rows


def main():
    module = EngineModule(
        argument_spec=dict(gather=dict(type="list", elements="str", choices=KINDS, default=list(KINDS)),
                           cluster=dict(type="str")),
        supports_check_mode=True, waits=False, mutating=False)
    p = module.params
    want = set(p["gather"])
    out = {"changed": False}
    try:
        system = module.client.system_service()
        dcs = system.data_centers_service().list()
        dcs_by_id = dict((d.id, d.name) for d in dcs)
        if "datacenters" in want:
            out["datacenters"] = [{"id": d.id, "name": d.name, "status": _v(d.status),
                                   "version": "%s.%s" % (d.version.major, d.version.minor) if d.version else None}
                                  for d in dcs]
        clusters = []
        if want & {"clusters", "hosts"}:
            clusters = system.clusters_service().list(
                search=where("name", p["cluster"]) if p["cluster"] else None)
        hosts = []
        if want & {"clusters", "hosts"}:
            hosts = system.hosts_service().list(
                search=where("cluster", p["cluster"]) if p["cluster"] else None, follow="statistics")
        if "clusters" in want:
            out["clusters"] = cluster_rows(clusters, hosts, dcs_by_id)
        if "hosts" in want:
            out["hosts"] = host_rows(hosts, dict((c.id, c.name) for c in clusters))
        if "storage_domains" in want:
            rows = {}
            for dc in dcs:
                for sd in system.data_centers_service().data_center_service(dc.id).storage_domains_service().list():
                    rows[sd.id] = _sd_row(sd, dc.name)
            for sd in system.storage_domains_service().list():
                rows.setdefault(sd.id, _sd_row(sd, None))
            out["storage_domains"] = sorted(rows.values(), key=lambda r: r["name"])
    except EngineError as exc:
        module.fail_from(exc)
    module.exit_json(**out)


def _sd_row(sd, dc_name):
    used, avail = sd.used or 0, sd.available or 0
    total = used + avail
    return {"id": sd.id, "name": sd.name, "type": _v(sd.type), "status": _v(sd.status) or "unattached",
            "data_center": dc_name, "used": used, "available": avail, "committed": sd.committed,
            "used_percent": round(100.0 * used / total, 1) if total else None}


if __name__ == "__main__":
    main()
