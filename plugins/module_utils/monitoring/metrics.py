# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A monitoring snapshot (collect.py) as Prometheus metric families: names, labels and help texts in one place.

Plain tuples ``(name, type, help, [(labels, value)])`` so the module needs no Prometheus library; the exporter
turns them into ``prometheus_client`` families and ``text`` renders the exposition format for tests and tools."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sre.ovirt.plugins.module_utils.monitoring.collect import RUNNING

API_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
COLLECTORS = ("engine", "clusters", "hosts", "vms", "storage", "events", "backups")


def cluster_names(snap):
    return dict((c["id"], c["name"]) for c in snap["clusters"])


def cluster_usage(snap):
    """Per cluster: hosts up, CPU/memory/network use of the up hosts, memory and vCPUs allocated to running VMs."""
    names = cluster_names(snap)
    out = {}
    for c in snap["clusters"]:
        out[c["name"]] = {"hosts": 0, "hosts_up": 0, "cores": 0, "memory": 0.0, "memory_used": 0.0, "cpu_sum": 0.0,
                          "net_bytes": 0.0, "net_capacity": 0.0, "vm_memory": 0.0, "vcpus": 0, "vms_running": 0,
                          "host_memory_max": 0.0, "host_cores_max": 0, "host_model": None,
                          "overcommit_limit": c.get("memory_overcommit_percent", 100.0) / 100.0}
    for h in snap["hosts"]:
        u = out.get(names.get(h["cluster"]))
        if u is None:
            continue
        u["hosts"] += 1
        if h["status"] != "up":
            continue
        u["hosts_up"] += 1
        u["cores"] += h["cores"]
        u["memory"] += h["memory_total"] or h["memory"]
        u["memory_used"] += h["memory_used"]
        u["cpu_sum"] += h["cpu_percent"] * h["cores"]
        u["net_bytes"] += h["net_rx"] + h["net_tx"]
        u["net_capacity"] += 2 * h["net_speed"] / 8.0
        if (h["memory_total"] or h["memory"]) >= u["host_memory_max"]:
            u["host_memory_max"], u["host_cores_max"], u["host_model"] = h["memory_total"] or h["memory"], \
                h["cores"], h["name"]
    for v in snap["vms"]:
        u = out.get(names.get(v["cluster"], ""))
        if u is None or v["status"] not in RUNNING:
            continue
        u["vm_memory"] += v["memory"]
        u["vcpus"] += v["vcpus"]
        u["vms_running"] += 1
    for u in out.values():
        u["cpu_percent"] = u["cpu_sum"] / u["cores"] if u["cores"] else 0.0
        u["memory_percent"] = 100.0 * u["memory_used"] / u["memory"] if u["memory"] else 0.0
        u["memory_allocated_percent"] = 100.0 * u["vm_memory"] / u["memory"] if u["memory"] else 0.0
        u["network_percent"] = 100.0 * u["net_bytes"] / u["net_capacity"] if u["net_capacity"] else 0.0
    return out


def families(snap, api_histogram=None, refresh_errors=None):
    """Metric families for ``snap``; ``api_histogram``: {"buckets": {le: n}, "count": n, "sum": s} (cumulative)."""
    names = cluster_names(snap)
    out = []

    def fam(name, typ, help_text, samples):
        out.append((name, typ, help_text, samples))

    vms = snap["vms"]
    fam("sre_ovirt_vm_up", "gauge", "Whether a VM that should run is up (1), or down, crashed, paused or "
        "not responding (0). VMs stopped on purpose have no series.",
        [({"vm": v["name"], "cluster": names.get(v["cluster"], "")}, v["should_run"]) for v in vms
         if v.get("should_run") is not None])
    fam("ovirt_vm_status", "gauge", "The VM's status as the Engine reports it (1 for the current status).",
        [({"vm": v["name"], "cluster": names.get(v["cluster"], ""), "status": v["status"] or ""}, 1) for v in vms])
    running = [v for v in vms if v["status"] in RUNNING]

    def lab(v):
        return {"vm": v["name"], "cluster": names.get(v["cluster"], "")}

    fam("ovirt_vm_cpu_percent", "gauge", "CPU used by a running VM (guest and overhead), percent of its vCPUs.",
        [(lab(v), v["cpu_percent"]) for v in running if v["cpu_percent"] is not None])
    fam("ovirt_vm_memory_bytes", "gauge", "Memory configured for a VM.", [(lab(v), v["memory"]) for v in vms])
    fam("ovirt_vm_memory_used_bytes", "gauge", "Memory a running VM's guest uses.",
        [(lab(v), v["memory_used"]) for v in running if v["memory_used"] is not None])
    fam("ovirt_vm_vcpus", "gauge", "Virtual CPUs of a VM.", [(lab(v), v["vcpus"]) for v in vms])
    fam("ovirt_vm_network_receive_bytes_per_second", "gauge", "Receive rate of a running VM's vNICs.",
        [(lab(v), v["net_rx"]) for v in running])
    fam("ovirt_vm_network_transmit_bytes_per_second", "gauge", "Transmit rate of a running VM's vNICs.",
        [(lab(v), v["net_tx"]) for v in running])
    ha = [v for v in vms if v["ha"]]
    fam("sre_ovirt_vm_high_availability", "gauge", "1 for a highly available VM (its priority as a label).",
        [(dict(lab(v), priority=str(v["ha_priority"])), 1) for v in ha])
    ready = ha_readiness(snap)
    fam("sre_ovirt_ha_vm_ready", "gauge", "Whether an HA VM is up and its cluster can restart it elsewhere (another "
        "up host with enough free memory).", [(lab(v), ready[v["id"]]) for v in ha])

    hosts = snap["hosts"]

    def hl(h):
        return {"host": h["name"], "cluster": names.get(h["cluster"], "")}

    fam("ovirt_host_up", "gauge", "Whether a host is up.", [(hl(h), 1 if h["status"] == "up" else 0) for h in hosts])
    fam("ovirt_host_status", "gauge", "The host's status (1 for the current status).",
        [(dict(hl(h), status=h["status"] or ""), 1) for h in hosts])
    fam("ovirt_host_spm", "gauge", "1 for the data center's Storage Pool Manager.",
        [(hl(h), 1 if h["spm"] else 0) for h in hosts])
    up_hosts = [h for h in hosts if h["status"] == "up"]
    fam("ovirt_host_cpu_percent", "gauge", "CPU used on a host (user and system), percent.",
        [(hl(h), h["cpu_percent"]) for h in up_hosts])
    fam("ovirt_host_memory_total_bytes", "gauge", "Physical memory of a host.",
        [(hl(h), h["memory_total"] or h["memory"]) for h in hosts])
    fam("ovirt_host_memory_used_bytes", "gauge", "Memory used on a host.", [(hl(h), h["memory_used"]) for h in up_hosts])
    fam("ovirt_host_cpu_cores", "gauge", "CPU cores (sockets x cores x threads) of a host.",
        [(hl(h), h["cores"]) for h in hosts])
    fam("ovirt_host_network_receive_bytes_per_second", "gauge", "Receive rate of a host's NICs.",
        [(hl(h), h["net_rx"]) for h in up_hosts])
    fam("ovirt_host_network_transmit_bytes_per_second", "gauge", "Transmit rate of a host's NICs.",
        [(hl(h), h["net_tx"]) for h in up_hosts])
    fam("ovirt_host_network_speed_bytes_per_second", "gauge", "Link speed of a host's NICs, per direction.",
        [(hl(h), h["net_speed"] / 8.0) for h in hosts])
    fam("ovirt_host_vms_active", "gauge", "Running VMs on a host.", [(hl(h), h["vms_active"]) for h in hosts])

    sds = snap["storage_domains"]

    def sl(s):
        return {"storage_domain": s["name"], "type": s["type"] or ""}

    fam("ovirt_storage_domain_up", "gauge", "Whether a storage domain is active (1) or not (0).",
        [(dict(sl(s), status=s["status"] or ""), 1 if s["status"] in ("active", "ok", None) else 0) for s in sds])
    fam("ovirt_storage_domain_used_bytes", "gauge", "Used space of a storage domain.",
        [(sl(s), s["used"]) for s in sds if s["used"] is not None])
    fam("ovirt_storage_domain_available_bytes", "gauge", "Free space of a storage domain.",
        [(sl(s), s["available"]) for s in sds if s["available"] is not None])
    fam("ovirt_storage_domain_committed_bytes", "gauge", "Space promised to the domain's disks (thin provisioning).",
        [(sl(s), s["committed"]) for s in sds if s["committed"] is not None])
    fam("ovirt_storage_domain_latency_seconds", "gauge", "Mean read latency of the domain's disks.",
        [(sl(s), s["latency"]) for s in sds if s["latency"] is not None])

    usage = cluster_usage(snap)

    def cl(n):
        return {"cluster": n}

    fam("ovirt_cluster_hosts_up", "gauge", "Up hosts of a cluster.", [(cl(n), u["hosts_up"]) for n, u in usage.items()])
    fam("ovirt_cluster_memory_overcommit_ratio", "gauge", "Memory of running VMs over the physical memory of the "
        "cluster's up hosts.", [(cl(n), u["vm_memory"] / u["memory"] if u["memory"] else 0.0)
                                for n, u in usage.items()])
    fam("ovirt_cluster_memory_overcommit_limit_ratio", "gauge", "The cluster's memory over-commit policy as a ratio.",
        [(cl(n), u["overcommit_limit"]) for n, u in usage.items()])
    fam("ovirt_cluster_cpu_overcommit_ratio", "gauge", "vCPUs of running VMs over the cores of the up hosts.",
        [(cl(n), float(u["vcpus"]) / u["cores"] if u["cores"] else 0.0) for n, u in usage.items()])
    fam("ovirt_cluster_cpu_percent", "gauge", "CPU used across the cluster's up hosts, percent.",
        [(cl(n), u["cpu_percent"]) for n, u in usage.items()])
    fam("ovirt_cluster_memory_percent", "gauge", "Memory used across the cluster's up hosts, percent.",
        [(cl(n), u["memory_percent"]) for n, u in usage.items()])
    fam("ovirt_cluster_network_percent", "gauge", "Network use across the cluster's up hosts, percent of the links.",
        [(cl(n), u["network_percent"]) for n, u in usage.items()])

    engine = snap.get("engine") or {}
    if engine.get("backup_epoch"):
        fam("sre_ovirt_engine_backup_age_seconds", "gauge", "Age of the newest full Engine backup (engine-backup).",
            [({}, max(0.0, snap["time"] - engine["backup_epoch"]))])
    if snap.get("backups"):
        fam("sre_ovirt_backup_age_seconds", "gauge", "Age of a VM's newest good backup point in the repository.",
            [({"vm": n}, max(0.0, snap["time"] - t)) for n, t in sorted(snap["backups"].items())])
    if engine.get("api_seconds") is not None:
        fam("sre_ovirt_engine_api_probe_seconds", "gauge", "Latency of the last probe of the Engine's API root.",
            [({}, engine["api_seconds"])])
    if api_histogram is not None:
        fam("sre_ovirt_engine_api_seconds", "histogram", "Latency of the exporter's Engine API requests.",
            api_histogram)

    errors = snap["errors"]
    fam("sre_ovirt_exporter_up", "gauge", "1 when the last refresh reached the Engine, 0 when it did not.",
        [({}, 0 if ("engine" in errors or refresh_errors) else 1)])
    fam("sre_ovirt_exporter_collector_up", "gauge", "1 when a collector's last refresh succeeded.",
        [({"collector": c}, 0 if c in errors else 1) for c in COLLECTORS])
    fam("sre_ovirt_exporter_refresh_seconds", "gauge", "How long the last refresh of the Engine's state took.",
        [({}, snap.get("seconds", 0.0))])
    fam("sre_ovirt_exporter_refresh_requests", "gauge", "Engine API requests the last refresh made.",
        [({}, len(snap.get("requests") or ()))])
    fam("sre_ovirt_exporter_last_refresh_timestamp_seconds", "gauge", "When the Engine's state was last read.",
        [({}, snap["time"])])
    return out


def ha_readiness(snap):
    """{vm id: 1/0}: an HA VM is ready when it runs and another up host of its cluster has room for it."""
    best = {}
    for h in snap["hosts"]:
        if h["status"] == "up":
            best.setdefault(h["cluster"], []).append((h["max_scheduling_memory"] or 0, h["id"]))
    out = {}
    for v in snap["vms"]:
        if not v["ha"]:
            continue
        others = [m for m, hid in best.get(v["cluster"], []) if hid != v["host"]]
        out[v["id"]] = 1 if v["status"] in RUNNING and others and max(others) >= (v["memory"] or 0) else 0
    return out


def _esc(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels):
    if not labels:
        return ""
    return "{%s}" % ",".join('%s="%s"' % (k, _esc(v)) for k, v in sorted(labels.items()))


def text(fams):
    """The families in the Prometheus text exposition format (0.0.4)."""
    lines = []
    for name, typ, help_text, samples in fams:
        lines.append("# HELP %s %s" % (name, help_text))
        lines.append("# TYPE %s %s" % (name, typ))
        if typ == "histogram":
            for le, n in samples["buckets"]:
                lines.append('%s_bucket{le="%s"} %s' % (name, le, repr(float(n))))
            lines.append("%s_count %s" % (name, repr(float(samples["count"]))))
            lines.append("%s_sum %s" % (name, repr(float(samples["sum"]))))
            continue
        for labels, value in samples:
            lines.append("%s%s %s" % (name, _labels(labels), repr(float(value))))
    return "\n".join(lines) + "\n"
