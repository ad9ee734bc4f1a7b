# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The health verdict of an Engine from one monitoring snapshot: ok, warning or critical, with the reasons."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.sre.ovirt.plugins.module_utils.monitoring.collect import RUNNING
from ansible_collections.sre.ovirt.plugins.module_utils.monitoring.metrics import cluster_names, ha_readiness

LEVELS = ("ok", "warning", "critical")
BAD_HOST = ("non_responsive", "error", "install_failed", "kdumping", "connecting", "unassigned")
DEFAULT_THRESHOLDS = {
    "storage_warning_percent": 80.0, "storage_critical_percent": 90.0,
    "api_warning_seconds": 2.0, "api_critical_seconds": 5.0,
    "engine_backup_warning_hours": 26.0, "engine_backup_critical_hours": 72.0,
    "host_cpu_warning_percent": 90.0, "host_memory_critical_percent": 95.0,
}


def _reason(out, severity, check, message, subject=None):
    out.append({"severity": severity, "check": check, "message": message, "subject": subject})


def evaluate(snap, thresholds=None, budget=None, now=None):
    """``budget``: the SLO gate's report (``slos`` with verdicts) or None. Returns the verdict, the reasons (worst
    first) and per-check counts."""
    t = dict(DEFAULT_THRESHOLDS)
    t.update(dict((k, v) for k, v in (thresholds or {}).items() if v is not None))
    now = snap.get("time") if now is None else now
    now = time.time() if now is None else now
    names = cluster_names(snap)
    reasons = []
    for part, err in sorted(snap.get("errors", {}).items()):
        _reason(reasons, "critical" if part in ("engine", "hosts", "vms") else "warning", "collect",
                "could not read %s from the Engine: %s" % (part, err), part)

    hosts = snap["hosts"]
    up = [h for h in hosts if h["status"] == "up"]
    for h in hosts:
        if h["status"] in BAD_HOST:
            _reason(reasons, "critical", "hosts", "host %s is %s" % (h["name"], h["status"]), h["name"])
        elif h["status"] != "up" and h["status"] != "maintenance":
            _reason(reasons, "warning", "hosts", "host %s is %s" % (h["name"], h["status"]), h["name"])
    for h in up:
        if h["cpu_percent"] >= t["host_cpu_warning_percent"]:
            _reason(reasons, "warning", "hosts", "host %s CPU at %.0f %%" % (h["name"], h["cpu_percent"]), h["name"])
        total = h["memory_total"] or h["memory"]
        if total and 100.0 * h["memory_used"] / total >= t["host_memory_critical_percent"]:
            _reason(reasons, "critical", "hosts", "host %s memory at %.0f %%" % (
                h["name"], 100.0 * h["memory_used"] / total), h["name"])
    if hosts and not up:
        _reason(reasons, "critical", "hosts", "no host is up", None)
    if hosts and not any(h["spm"] for h in hosts):
        _reason(reasons, "critical", "spm", "no host is the Storage Pool Manager (SPM)", None)

    ready = ha_readiness(snap)
    ha_vms = [v for v in snap["vms"] if v["ha"]]
    for v in ha_vms:
        if v["status"] not in RUNNING:
            _reason(reasons, "critical", "ha_vms", "HA VM %s is %s" % (v["name"], v["status"]), v["name"])
        elif not ready.get(v["id"]):
            _reason(reasons, "warning", "ha_vms", "HA VM %s could not be restarted elsewhere in cluster %s" % (
                v["name"], names.get(v["cluster"], "?")), v["name"])
    for v in snap["vms"]:
        if not v["ha"] and v.get("should_run") == 0:
            _reason(reasons, "critical", "vms", "VM %s should run but is %s" % (v["name"], v["status"]), v["name"])

    for sd in snap["storage_domains"]:
        if sd["status"] not in (None, "active", "ok"):
            _reason(reasons, "critical", "storage", "storage domain %s is %s" % (sd["name"], sd["status"]),
                    sd["name"])
        if sd["used"] is not None and sd["available"] is not None and (sd["used"] + sd["available"]):
            pct = 100.0 * sd["used"] / (sd["used"] + sd["available"])
            free_gib = sd["available"] / float(1 << 30)
            if pct >= t["storage_critical_percent"] or free_gib <= (sd.get("critical_gib") or 0):
                _reason(reasons, "critical", "storage", "storage domain %s is %.1f %% full" % (sd["name"], pct),
                        sd["name"])
            elif pct >= min(t["storage_warning_percent"], 100.0 - (sd.get("warning_percent") or 10.0)):
                _reason(reasons, "warning", "storage", "storage domain %s is %.1f %% full" % (sd["name"], pct),
                        sd["name"])

    engine = snap.get("engine") or {}
    api = engine.get("api_seconds")
    if api is not None and api >= t["api_critical_seconds"]:
        _reason(reasons, "critical", "engine_api", "the Engine API took %.1f s to answer" % api, None)
    elif api is not None and api >= t["api_warning_seconds"]:
        _reason(reasons, "warning", "engine_api", "the Engine API took %.1f s to answer" % api, None)
    if engine.get("backup_present"):
        if not engine.get("backup_epoch"):
            _reason(reasons, "critical", "engine_backup", "the Engine has no full backup (engine-backup)", None)
        else:
            hours = (now - engine["backup_epoch"]) / 3600.0
            if hours >= t["engine_backup_critical_hours"]:
                _reason(reasons, "critical", "engine_backup", "the newest Engine backup is %.0f h old" % hours, None)
            elif hours >= t["engine_backup_warning_hours"]:
                _reason(reasons, "warning", "engine_backup", "the newest Engine backup is %.0f h old" % hours, None)

    if budget is not None:
        for rep in budget.get("slos") or ():
            if rep.get("verdict") == "fail":
                _reason(reasons, "critical", "budget", "SLO %s: %s" % (rep["slo"], rep.get("reason")), rep["slo"])
            elif rep.get("verdict") == "warn":
                _reason(reasons, "warning", "budget", "SLO %s: %s" % (rep["slo"], rep.get("reason")), rep["slo"])

    reasons.sort(key=lambda r: -LEVELS.index(r["severity"]))
    verdict = reasons[0]["severity"] if reasons else "ok"
    checks = {
        "hosts": {"total": len(hosts), "up": len(up), "non_responsive": sum(1 for h in hosts
                                                                            if h["status"] == "non_responsive")},
        "ha_vms": {"total": len(ha_vms), "running": sum(1 for v in ha_vms if v["status"] in RUNNING)},
        "vms": {"total": len(snap["vms"]), "running": sum(1 for v in snap["vms"] if v["status"] in RUNNING),
                "unexpectedly_down": sum(1 for v in snap["vms"] if v.get("should_run") == 0)},
        "storage_domains": [{"name": sd["name"], "status": sd["status"],
                             "used_percent": round(100.0 * sd["used"] / (sd["used"] + sd["available"]), 2)
                             if sd["used"] is not None and sd["available"] else None}
                            for sd in snap["storage_domains"]],
        "spm": [h["name"] for h in hosts if h["spm"]],
        "engine_api_seconds": round(api, 4) if api is not None else None,
        "engine_backup_age_hours": round((now - engine["backup_epoch"]) / 3600.0, 1)
        if engine.get("backup_epoch") else None,
    }
    return {"verdict": verdict, "reasons": reasons, "checks": checks}


def markdown(result, title="oVirt health"):
    icon = {"ok": "OK", "warning": "WARNING", "critical": "CRITICAL"}
    c = result["checks"]
    lines = ["# %s: %s" % (title, icon[result["verdict"]]), ""]
    if result["reasons"]:
        lines += ["| severity | check | reason |", "|---|---|---|"]
        lines += ["| %s | %s | %s |" % (r["severity"], r["check"], r["message"].replace("|", "\\|"))
                  for r in result["reasons"]]
    else:
        lines.append("Everything checked is healthy.")
    lines += ["", "## Checked", "",
              "- hosts: %d up of %d (%d non-responsive); SPM: %s" % (
                  c["hosts"]["up"], c["hosts"]["total"], c["hosts"]["non_responsive"], ", ".join(c["spm"]) or "none"),
              "- VMs: %d running of %d, %d unexpectedly down; HA VMs: %d running of %d" % (
                  c["vms"]["running"], c["vms"]["total"], c["vms"]["unexpectedly_down"], c["ha_vms"]["running"],
                  c["ha_vms"]["total"]),
              "- storage domains: %s" % ", ".join("%s %s (%s %%)" % (s["name"], s["status"], s["used_percent"])
                                                  for s in c["storage_domains"]),
              "- Engine API: %s s; Engine backup age: %s h" % (c["engine_api_seconds"], c["engine_backup_age_hours"])]
    return "\n".join(lines) + "\n"


def as_json(result):
    return json.dumps(result, indent=2, sort_keys=True)
