# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading one site for DR (the inventory ``dr.mapping`` works on) and the recorded VM inventory of the primary
(what an unplanned failover compares with, to name the VMs lost since the last OVF update)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.sre.ovirt.plugins.module_utils.client.search import get_by_name, where


class SiteError(Exception):
    def __init__(self, msg, field=None):
        super(SiteError, self).__init__(msg)
        self.field = field


def _value(enum):
    return getattr(enum, "value", enum)


def read_site(client, data_center=None, field="primary", with_vms=True):
    """The inventory of one Engine's data center (``data_center``, or the only one that has clusters)."""
    system = client.system_service()
    dcs_service = system.data_centers_service()
    if data_center:
        dc = get_by_name(dcs_service, data_center, "data center")
        if dc is None:
            raise SiteError("%s.data_center: no data center named %s" % (field, data_center), field=field)
    else:
        dcs = [d for d in dcs_service.list() if _value(d.status) != "uninitialized"]
        if len(dcs) != 1:
            raise SiteError("%s: the Engine has %d initialized data centers (%s); name the one to use" % (
                field, len(dcs), ", ".join(sorted(d.name for d in dcs))), field=field)
        dc = dcs[0]
    inv = {"url": client.settings.url, "data_center": dc.name}
    clusters = [c for c in system.clusters_service().list() if c.data_center is not None and c.data_center.id == dc.id]
    inv["clusters"] = sorted(c.name for c in clusters)
    clusters_service = system.clusters_service()
    groups = set()
    for c in clusters:
        groups.update(g.name for g in clusters_service.cluster_service(c.id).affinity_groups_service().list())
    inv["affinity_groups"] = sorted(groups)
    inv["affinity_labels"] = sorted(label.name for label in system.affinity_labels_service().list())
    pool_ids = set(c.mac_pool.id for c in clusters if c.mac_pool is not None)
    inv["mac_pools"] = sorted(p.name for p in system.mac_pools_service().list() if p.id in pool_ids)
    inv["roles"] = sorted(r.name for r in system.roles_service().list() if r.mutable)
    inv["domains"] = sorted(d.name for d in system.domains_service().list())
    dc_service = dcs_service.data_center_service(dc.id)
    networks = dict((n.id, n.name) for n in dc_service.networks_service().list())
    inv["vnic_profiles"] = sorted(
        ({"network": networks[p.network.id], "profile": p.name, "id": p.id}
         for p in system.vnic_profiles_service().list() if p.network is not None and p.network.id in networks),
        key=lambda p: (p["network"], p["profile"]))
    sds_service = system.storage_domains_service()
    domains = []
    for sd in dc_service.storage_domains_service().list():
        if _value(sd.type) != "data":
            continue
        storage = sd.storage
        disks = sds_service.storage_domain_service(sd.id).disks_service().list(max=1)
        domains.append({"name": sd.name, "id": sd.id, "type": _value(storage.type) if storage else None,
                        "address": storage.address if storage else None, "path": storage.path if storage else None,
                        "data_center": dc.name, "status": _value(sd.status), "has_vm_disks": bool(disks)})
    inv["storage_domains"] = sorted(domains, key=lambda d: d["name"])
    if with_vms:
        sd_names = dict((sd["id"], sd["name"]) for sd in domains)
        inv["vms"] = read_vms(system, dc.name, sd_names, dict((c.id, c.name) for c in clusters))
    return inv


def read_vms(system, data_center, sd_names, cluster_names):
    """The data center's VMs with the storage domains of their disks, in one request (``follow``)."""
    vms = system.vms_service().list(search=where("datacenter", data_center), follow="disk_attachments.disk")
    out = []
    for vm in vms:
        ha = vm.high_availability
        domains = []
        for att in vm.disk_attachments or []:
            disk = att.disk
            for sd in (disk.storage_domains or []) if disk is not None else []:
                name = sd_names.get(sd.id, sd.id)
                if name not in domains:
                    domains.append(name)
        out.append({"name": vm.name, "id": vm.id, "status": _value(vm.status),
                    "ha": bool(ha is not None and ha.enabled),
                    "priority": (ha.priority or 0) if ha is not None and ha.enabled else 0,
                    "cluster": cluster_names.get(vm.cluster.id) if vm.cluster is not None else None,
                    "storage_domains": sorted(domains)})
    return sorted(out, key=lambda v: v["name"])


# -- the recorded inventory ------------------------------------------------------------------
def state_text(vms, storage_domains, recorded_at):
    """The state file (JSON): the primary's VMs on the replicated domains, with the time they were recorded."""
    chosen = set(storage_domains)
    listed = [v for v in vms if chosen.intersection(v.get("storage_domains") or [])] if chosen else list(vms)
    doc = {"recorded_at": recorded_at, "recorded_at_text": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                         time.gmtime(recorded_at)),
           "storage_domains": sorted(chosen),
           "vms": [dict((k, v[k]) for k in ("name", "id", "status", "ha", "priority", "storage_domains"))
                   for v in listed]}
    return json.dumps(doc, indent=2, sort_keys=True) + "\n", doc


def read_state(path):
    with open(path) as f:
        return json.load(f)


def same_inventory(old, new):
    """Whether two recorded inventories list the same VMs in the same states (the time aside)."""
    def key(doc):
        return (doc.get("storage_domains"), doc.get("vms"))
    return old is not None and key(old) == key(new)


def lost_vms(state, registered_names):
    """VMs the recorded primary inventory lists that are not registered on the secondary (missing from the
    replicated OVF store: created after its last update)."""
    have = set(registered_names)
    return [v["name"] for v in (state or {}).get("vms") or [] if v["name"] not in have]
