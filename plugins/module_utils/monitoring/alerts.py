# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Alerting rules on the exporter's metrics (docs/monitoring.md): one page or ticket per broken thing now, next to
the SLO burn-rate alerts (slo/rules.py) that judge the month. ``sre.ovirt.slo_rules`` writes both."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

RUNBOOK = "docs/monitoring.md"

# name, expr, for, severity, summary, description, runbook anchor
ALERTS = [
    ("SreOvirtExporterDown", "sre_ovirt_exporter_up == 0", "5m", "page",
     "sre-ovirt-exporter cannot read the Engine",
     "The exporter answers but its last refresh of the Engine's state failed; every other oVirt alert is blind.",
     "exporter-down"),
    ("SreOvirtExporterAbsent", "absent(sre_ovirt_exporter_up)", "10m", "page",
     "No sre-ovirt-exporter is scraped",
     "Prometheus has no sre_ovirt_exporter_up series: the exporter is down or not scraped.", "exporter-down"),
    ("SreOvirtExporterCollectorFailing", "sre_ovirt_exporter_collector_up == 0", "15m", "ticket",
     "The exporter's {{ $labels.collector }} collector fails",
     "Metrics of that part of the Engine are missing or stale.", "exporter-down"),
    ("VMUnexpectedDown", "sre_ovirt_vm_up == 0", "2m", "page",
     "VM {{ $labels.vm }} should run but is down",
     "The VM crashed, is paused, unknown or not responding (cluster {{ $labels.cluster }}).", "vm-unexpected-down"),
    ("HAVMNotReady", "sre_ovirt_ha_vm_ready == 0", "10m", "ticket",
     "HA VM {{ $labels.vm }} could not be restarted elsewhere",
     "The VM is down, or no other up host of cluster {{ $labels.cluster }} has the memory to restart it.",
     "ha-vm-not-ready"),
    ("HostNonResponsive", 'ovirt_host_status{status=~"non_responsive|connecting|error|install_failed|kdumping"} == 1',
     "5m", "page", "Host {{ $labels.host }} is {{ $labels.status }}",
     "The Engine cannot manage the host; its VMs may be unknown until it is fenced.", "host-non-responsive"),
    ("HostCPUHigh", "ovirt_host_cpu_percent > 90", "15m", "ticket",
     "Host {{ $labels.host }} CPU above 90 %",
     "CPU used on the host has been above 90 % for 15 minutes.", "host-cpu-high"),
    ("HostRAMCritical", "100 * ovirt_host_memory_used_bytes / ovirt_host_memory_total_bytes > 95", "10m", "page",
     "Host {{ $labels.host }} memory above 95 %",
     "Memory used on the host has been above 95 % for 10 minutes; the kernel may start swapping or killing.",
     "host-ram-critical"),
    ("NoSPM", "max(ovirt_host_spm) < 1", "5m", "page", "No host is the Storage Pool Manager",
     "Without an SPM no disk can be created, extended or removed.", "no-spm"),
    ("EngineAPISlow", "max(sre_ovirt_engine_api_probe_seconds) > 5", "10m", "ticket",
     "The Engine API takes more than 5 s to answer",
     "The exporter's probe of the API root has taken more than 5 s for 10 minutes.", "engine-api-slow"),
    ("StorageDomainAlmostFull",
     "100 * ovirt_storage_domain_used_bytes / (ovirt_storage_domain_used_bytes + ovirt_storage_domain_available_bytes)"
     " > 85", "15m", "ticket", "Storage domain {{ $labels.storage_domain }} above 85 %",
     "Used space has been above 85 % of the domain for 15 minutes.", "storage-domain-full"),
    ("StorageDomainCritical",
     "100 * ovirt_storage_domain_used_bytes / (ovirt_storage_domain_used_bytes + ovirt_storage_domain_available_bytes)"
     " > 95", "5m", "page", "Storage domain {{ $labels.storage_domain }} above 95 %",
     "The Engine blocks new disks when free space reaches the domain's critical threshold.", "storage-domain-full"),
    ("StorageDomainInactive", "ovirt_storage_domain_up == 0", "5m", "page",
     "Storage domain {{ $labels.storage_domain }} is {{ $labels.status }}",
     "VMs with disks on it cannot run.", "storage-domain-inactive"),
    ("StorageLatencyHigh", "ovirt_storage_domain_latency_seconds > 0.05", "15m", "ticket",
     "Storage domain {{ $labels.storage_domain }} read latency above 50 ms", "Mean read latency of its disks.",
     "storage-latency-high"),
    ("ClusterMemoryOvercommitted",
     "ovirt_cluster_memory_overcommit_ratio > on (cluster) ovirt_cluster_memory_overcommit_limit_ratio", "30m",
     "ticket", "Cluster {{ $labels.cluster }} runs more VM memory than its over-commit policy allows",
     "Running VMs' memory over the up hosts' memory is above the cluster's memory over-commit.",
     "cluster-overcommitted"),
    ("EngineBackupStale", "sre_ovirt_engine_backup_age_seconds > 2 * 86400", "1h", "ticket",
     "The newest Engine backup is older than two days", "Run engine-backup (database and files).",
     "engine-backup-stale"),
]


def alert_group(runbook=RUNBOOK):
    rules = []
    for name, expr, for_, severity, summary, description, anchor in ALERTS:
        rules.append({"alert": name, "expr": expr, "for": for_,
                      "labels": {"severity": severity, "team": "sre-ovirt"},
                      "annotations": {"summary": summary, "description": description,
                                      "runbook_url": "%s#%s" % (runbook, anchor)}})
    return {"name": "sre-ovirt-infrastructure", "rules": rules}
