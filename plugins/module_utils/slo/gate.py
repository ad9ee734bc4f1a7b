# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The SLO gate: evaluate every SLO from one source and decide whether a change may go ahead.

``decide()`` adds the decision to a report; ``cached_report()`` reuses an evaluation across the tasks of a run
(per policy and per Engine); ``record_decision()`` logs remediation, break-glass and refusals to the ledger."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import json
import os
import tempfile
import time

from ansible_collections.sre.ovirt.plugins.module_utils.slo import budget, spec as slo_spec
from ansible_collections.sre.ovirt.plugins.module_utils.slo.policy import GateError, load_slos
from ansible_collections.sre.ovirt.plugins.module_utils.slo.sources import open_source, step_for
from ansible_collections.sre.ovirt.plugins.module_utils.sli.ledger import Ledger, LedgerError


# -- evaluation -------------------------------------------------------------------------------------
def evaluate_all(policy, now=None, slos=None, source=None, client=None):
    """The per-SLO report (no decision): {"slos": [...], "source": ..., "evaluated_at": ...}."""
    now = time.time() if now is None else now
    slos = slos if slos is not None else load_slos(policy)
    own = source is None
    source = source or open_source(policy, client)
    reports = []
    try:
        for slo in slos:
            if slo.calendar is not None:  # evaluate the calendar period so far
                slo = copy.copy(slo)
                slo.window = max(step_for(slo), now - slo_spec.period_start(slo, now))
            try:
                buckets, first, last, at = source.fetch(slo, now)
            except GateError as exc:
                rep = {"slo": slo.name, "verdict": "no_data", "reason": "%s: %s" % (slo.name, exc),
                       "target": slo.target, "sli": None, "budget": None, "burn_rates": []}
            else:
                rep = budget.evaluate(slo.name, buckets, slo.target, slo.window, at, step_for(slo),
                                      method=slo.method, slice_target=slo.slice_target, first_seen=first,
                                      last_seen=last, stale_after=slo.stale_after,
                                      warn_below=policy["warn_below"], where=source.describe(slo))
            rep["display_name"] = slo.display
            rep["optional"] = slo.optional
            reports.append(rep)
    finally:
        if own:
            source.close()
    return {"slos": reports, "source": policy["source"], "evaluated_at": now}


def decide(policy, report):
    """Add the decision to a report: passed, refused SLOs, and why."""
    blocking = []
    for rep in report["slos"]:
        if rep["verdict"] == "fail":
            blocking.append(rep)
        elif rep["verdict"] == "no_data" and policy["on_no_data"] == "block" and not rep.get("optional"):
            blocking.append(rep)
    report = dict(report)
    report["change_class"] = policy["change_class"]
    report["blocking"] = [r["slo"] for r in blocking]
    bg = policy.get("break_glass") or {}
    if not blocking:
        report.update(passed=True, outcome="pass", message="SLO gate: every SLO within budget")
    elif policy["change_class"] in ("remediation", "protection"):
        # restoring service, or protecting data (a backup): both pass with a spent budget, and are logged
        report.update(passed=True, outcome=policy["change_class"],
                      message="SLO gate: %s allowed although %s" % (policy["change_class"], _list(blocking)))
    elif bg:
        report.update(passed=True, outcome="break_glass",
                      message="SLO gate: break-glass override (ticket %s: %s) although %s" % (
                          bg["ticket"], bg["reason"], _list(blocking)))
    else:
        report.update(passed=False, outcome="refused", message="SLO gate refused the change: %s" % _list(blocking))
    return report


def _list(blocking):
    return "; ".join("%s %s (%s)" % (r["slo"], "has no data" if r["verdict"] == "no_data" else "budget spent",
                                     r["reason"]) for r in blocking)


def cache_path(policy, engine=None):
    """One cache file per policy and, for the Engine source, per Engine: a verdict about one Engine is never
    reused for another (DR talks to two)."""
    key = hashlib.sha1(json.dumps([policy, engine], sort_keys=True, default=str).encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), "sre-ovirt-gate-%d-%s.json" % (os.getuid(), key))


def cached_report(policy, now=None, client=None):
    """The evaluation, reused for ``cache_ttl`` seconds across the tasks of a run."""
    now = time.time() if now is None else now
    engine = None
    if policy.get("source") == "engine" and client is not None:
        engine = [client.settings.url, client.settings.username]
    path = cache_path(policy, engine)
    ttl = policy.get("cache_ttl") or 0
    if ttl > 0:
        try:
            with open(path) as f:
                cached = json.load(f)
            if 0 <= now - cached["evaluated_at"] < ttl:
                cached["cached"] = True
                return cached
        except (IOError, OSError, ValueError, KeyError):
            pass
    report = evaluate_all(policy, now=now, client=client)
    if ttl > 0:
        tmp = "%s.%d.tmp" % (path, os.getpid())
        try:
            with open(tmp, "w") as f:
                json.dump(report, f, default=str)
            os.rename(tmp, path)
        except (IOError, OSError):
            pass
    report["cached"] = False
    return report


def record_decision(policy, report, module=None):
    """Remediation and break-glass outcomes (and refusals) go to the ledger's gate log."""
    if report.get("outcome") == "pass":
        return
    bg = policy.get("break_glass") or {}
    try:
        ledger = Ledger(policy["ledger_path"])
        try:
            ledger.log_gate(report["outcome"], policy["change_class"], module=module,
                            reason=bg.get("reason") or report.get("message"), ticket=bg.get("ticket"),
                            report={"blocking": report.get("blocking")})
        finally:
            ledger.close()
    except LedgerError:
        pass


def summary(report):
    """What a task result shows of the gate: the decision and one line per SLO."""
    out = {"passed": report.get("passed"), "outcome": report.get("outcome"), "message": report.get("message"),
           "blocking": report.get("blocking", []), "source": report.get("source"),
           "cached": report.get("cached", False), "slos": []}
    if report.get("audit_event"):
        out["audit_event"] = report["audit_event"]
    for rep in report.get("slos", []):
        budget = rep.get("budget") or {}
        out["slos"].append({"slo": rep["slo"], "verdict": rep["verdict"], "reason": rep["reason"],
                            "sli": rep.get("sli"), "target": rep.get("target"),
                            "budget_remaining": budget.get("remaining_share"), "optional": bool(rep.get("optional"))})
    return out
