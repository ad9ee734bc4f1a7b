# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the inventory plugin reads from the Engine, in a bounded number of list requests, whatever the estate's size:
data centers and clusters once, hosts in one list, VMs in one list (or in pages of ``page_size``) with
``follow=tags,reported_devices`` (their tags and the addresses the guest agent reports come along: never one request
per VM). The answers are parsed as a stream (``monitoring.collect.iter_entities``) into plain records that can be
cached as JSON."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sre.ovirt.plugins.module_utils.monitoring.collect import iter_entities, raw_get

VM_FOLLOW = "tags,reported_devices"
HOST_FOLLOW = "tags"


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _ref(elem, child):
    c = elem.find(child)
    return c.get("id") if c is not None else None


def _vcpus(elem):
    topo = elem.find("cpu/topology")
    if topo is None:
        return None
    out = 1
    for part in ("sockets", "cores", "threads"):
        out *= _int(topo.findtext(part)) or 1
    return out


def _tags(elem):
    return sorted(t.findtext("name") for t in elem.findall("tags/tag") if t.findtext("name"))


def reported_ips(elem):
    """The guest agent's addresses of a VM, device by device: [{address, version, device}]."""
    out = []
    for dev in elem.findall("reported_devices/reported_device"):
        for ip in dev.findall("ips/ip"):
            address = ip.findtext("address")
            if address:
                out.append({"address": address, "version": ip.findtext("version"), "device": dev.findtext("name")})
    return out


def vm_record(elem, names):
    """A VM list entry (XML element) as a plain record; ``names``: {"clusters", "datacenters", "cluster_dc",
    "hosts"}, id -> name."""
    cluster = _ref(elem, "cluster")
    dc = names["cluster_dc"].get(cluster)
    return {
        "id": elem.get("id"), "name": elem.findtext("name"), "status": elem.findtext("status"),
        "cluster": names["clusters"].get(cluster), "datacenter": names["datacenters"].get(dc),
        "host": names["hosts"].get(_ref(elem, "host")), "memory": _int(elem.findtext("memory")),
        "cpu": _vcpus(elem), "os": elem.findtext("os/type"), "fqdn": elem.findtext("fqdn") or None,
        "description": elem.findtext("description") or None, "tags": _tags(elem),
        "ha": {"enabled": (elem.findtext("high_availability/enabled") or "").strip() == "true",
               "priority": _int(elem.findtext("high_availability/priority"))},
        "ips": reported_ips(elem),
    }


def host_record(elem, names):
    cluster = _ref(elem, "cluster")
    dc = names["cluster_dc"].get(cluster)
    return {
        "id": elem.get("id"), "name": elem.findtext("name"), "address": elem.findtext("address"),
        "status": elem.findtext("status"), "cluster": names["clusters"].get(cluster),
        "datacenter": names["datacenters"].get(dc), "memory": _int(elem.findtext("memory")), "cpu": _vcpus(elem),
        "os": " ".join(p for p in (elem.findtext("os/type"), elem.findtext("os/version/full_version")) if p) or None,
        "tags": _tags(elem), "spm": elem.findtext("spm/status") == "spm",
        "update_available": (elem.findtext("update_available") or "").strip() == "true",
    }


def fetch(client, want_vms=True, want_hosts=True, vm_search=None, page_size=0):
    """{"vms": [...], "hosts": [...]} read from the Engine through ``client`` (an ``EngineClient``)."""
    names = {"datacenters": {}, "clusters": {}, "cluster_dc": {}, "hosts": {}}
    for dc in iter_entities(raw_get(client, "/datacenters"), "data_center"):
        names["datacenters"][dc.get("id")] = dc.findtext("name")
    for c in iter_entities(raw_get(client, "/clusters"), "cluster"):
        names["clusters"][c.get("id")] = c.findtext("name")
        names["cluster_dc"][c.get("id")] = _ref(c, "data_center")
    hosts = []
    query = {"follow": HOST_FOLLOW} if want_hosts else {}
    for h in iter_entities(raw_get(client, "/hosts", query), "host"):
        names["hosts"][h.get("id")] = h.findtext("name")
        if want_hosts:
            hosts.append(host_record(h, names))
    vms = []
    if want_vms:
        page = 1 if page_size else None
        while True:
            body = raw_get(client, "/vms", vm_query(vm_search, page_size, page))
            before = len(vms)
            for v in iter_entities(body, "vm"):
                vms.append(vm_record(v, names))
            if not page or len(vms) - before < page_size:
                break
            page += 1
    return {"vms": vms, "hosts": hosts}


def vm_query(vm_search=None, page_size=0, page=None):
    """The VM list's query: everything in one answer, or page ``page`` of ``page_size`` sorted by name."""
    query = {"follow": VM_FOLLOW}
    search = vm_search or ""
    if page:
        search = ("%s sortby name asc page %d" % (search, page)).strip()
        query["max"] = str(int(page_size))
    if search:
        query["search"] = search
    return query
