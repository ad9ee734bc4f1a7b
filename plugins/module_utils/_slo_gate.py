# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SLO gate: evaluate every SLO from one source and decide whether a change may go ahead.

``GatePolicy`` is what users set once (``slo_policy`` in module defaults for ``group/sre.ovirt.engine``, or
the ``SRE_OVIRT_SLO_POLICY`` environment variable holding JSON or the path of a YAML/JSON file).
``decide()`` returns a report; ``GateRefused`` carries it when a change must not happen.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import json
import os
import tempfile
import time

from ansible_collections.sre.ovirt.plugins.module_utils import _sli_engine, _slo_math, _slo_spec
from ansible_collections.sre.ovirt.plugins.module_utils._slo_defaults import DEFAULT_SLOS
from ansible_collections.sre.ovirt.plugins.module_utils._sli_ledger import Ledger, LedgerError
from ansible_collections.sre.ovirt.plugins.module_utils.model.events import epoch

ENV_POLICY = "SRE_OVIRT_SLO_POLICY"
ENV_LEDGER = "SRE_OVIRT_LEDGER"
DEFAULT_LEDGER = "~/.ansible/sre_ovirt/sli-ledger.sqlite"
CHANGE_CLASSES = ("change", "remediation")
NO_DATA_ACTIONS = ("block", "warn")

# The argument spec of ``slo_policy``; documented by the doc fragment sre.ovirt.slo_policy. Change both.
POLICY_OPTIONS = dict(
    enabled=dict(type="bool", default=True),
    source=dict(type="str", default="ledger", choices=list(_slo_spec.SOURCES)),
    slo_file=dict(type="path"),
    ledger_path=dict(type="path"),
    prometheus_url=dict(type="str"),
    prometheus_ca_file=dict(type="path"),
    pushgateway_url=dict(type="str"),
    on_no_data=dict(type="str", default="block", choices=list(NO_DATA_ACTIONS)),
    warn_below=dict(type="float", default=0.25),
    cache_ttl=dict(type="int", default=60),
    change_class=dict(type="str", default="change", choices=list(CHANGE_CLASSES)),
    break_glass=dict(type="dict", options=dict(reason=dict(type="str"), ticket=dict(type="str"))),
)


class GateError(Exception):
    """The policy or the SLO file is wrong, or a source cannot be read."""

    def __init__(self, message, field=None):
        super(GateError, self).__init__(message)
        self.field = field


class GateRefused(Exception):
    def __init__(self, message, report):
        super(GateRefused, self).__init__(message)
        self.report = report


def policy_from_env(env=None):
    """The policy in ``SRE_OVIRT_SLO_POLICY`` (JSON text or a file path), or None."""
    env = os.environ if env is None else env
    raw = env.get(ENV_POLICY)
    if not raw:
        return None
    raw = raw.strip()
    if not raw.startswith("{"):
        try:
            with open(os.path.expanduser(raw)) as f:
                raw = f.read()
        except (IOError, OSError) as exc:
            raise GateError("%s names %s, which cannot be read: %s" % (ENV_POLICY, raw, exc), ENV_POLICY)
        try:
            import yaml
            return yaml.safe_load(raw) or {}
        except Exception as exc:  # noqa: BLE001 - any parse error is the user's file
            raise GateError("%s: %s" % (ENV_POLICY, exc), ENV_POLICY)
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise GateError("%s is not valid JSON: %s" % (ENV_POLICY, exc), ENV_POLICY)


def normalize(policy):
    """Fill defaults and validate a policy dict (from module options or the environment)."""
    out = {}
    policy = dict(policy or {})
    unknown = sorted(set(policy) - set(POLICY_OPTIONS))
    if unknown:
        raise GateError("slo_policy: unknown option(s) %s; allowed: %s" % (
            ", ".join(unknown), ", ".join(sorted(POLICY_OPTIONS))), "slo_policy")
    for key, spec in POLICY_OPTIONS.items():
        value = policy.get(key)
        if value is None:
            value = spec.get("default")
        if value is not None and "choices" in spec and value not in spec["choices"]:
            raise GateError("slo_policy.%s: %r is not one of %s" % (key, value, ", ".join(spec["choices"])),
                            "slo_policy." + key)
        out[key] = value
    if out["source"] == "prometheus" and not out["prometheus_url"]:
        raise GateError("slo_policy.prometheus_url is required when source is prometheus",
                        "slo_policy.prometheus_url")
    bg = out.get("break_glass") or {}
    if bg and (not bg.get("reason") or not bg.get("ticket")):
        raise GateError("slo_policy.break_glass needs both reason and ticket", "slo_policy.break_glass")
    if not out["ledger_path"]:
        out["ledger_path"] = os.environ.get(ENV_LEDGER) or DEFAULT_LEDGER
    out["ledger_path"] = os.path.expanduser(out["ledger_path"])
    return out


def load_slos(policy):
    try:
        if policy.get("slo_file"):
            return _slo_spec.load_file(policy["slo_file"])
        return _slo_spec.load_text(DEFAULT_SLOS, "built-in SLOs")
    except _slo_spec.SloSpecError as exc:
        raise GateError(str(exc), "slo_policy.slo_file")


def step_for(slo):
    """Bucket size: the time slice, or 5 minutes (the shortest burn-rate window) for Occurrences."""
    return slo.slice_window if slo.slice_window else 300.0


# -- sources ----------------------------------------------------------------------------------------
class LedgerSource:
    def __init__(self, path):
        self.path = path
        self.ledger = Ledger(path)

    def describe(self, slo):
        q = slo.query("ledger", "total") or {}
        return "the SLI ledger %s (measurement %s)" % (self.path, q.get("measurement", "?"))

    def fetch(self, slo, now):
        good, bad, total = (slo.query("ledger", w) for w in ("good", "bad", "total"))
        if total is None or (good is None and bad is None):
            return [], None, None, now
        step = step_for(slo)
        # Samples carry the Engine's clock (sli_collect); when it runs ahead of this machine's, evaluate up to
        # the newest sample rather than ignore it (bounded: a day of skew at most).
        last = self.ledger.extent(total["measurement"])[1]
        if last is not None and now < last <= now + 86400:
            now = last
        end = now - (now % step) + step  # buckets aligned to the step, the last one holding "now"
        start = end - slo.window
        buckets, first, last = self.ledger.buckets(good, total, start, end, step, bad=bad)
        return buckets, first, last, now

    def close(self):
        self.ledger.close()


class PrometheusSource:
    MAX_POINTS = 10000

    def __init__(self, url, ca_file=None, timeout=30, opener=None):
        self.url = url.rstrip("/")
        self.ca_file = ca_file
        self.timeout = timeout
        self.opener = opener

    def describe(self, slo):
        return "Prometheus %s (%s)" % (self.url, slo.query("prometheus", "total"))

    def _get(self, path, params):
        from ansible.module_utils.urls import open_url
        from ansible.module_utils.six.moves.urllib.parse import urlencode
        url = "%s%s?%s" % (self.url, path, urlencode(params))
        try:
            resp = (self.opener or open_url)(url, timeout=self.timeout, ca_path=self.ca_file)
            body = json.loads(resp.read())
        except Exception as exc:  # noqa: BLE001 - any failure to read is "no data", reported with the cause
            raise GateError("Prometheus %s: %s" % (url, exc), "slo_policy.prometheus_url")
        if body.get("status") != "success":
            raise GateError("Prometheus %s: %s" % (url, body.get("error")), "slo_policy.prometheus_url")
        return body["data"]

    def range(self, expr, start, end, step):
        """{bucket start: value} for ``expr`` evaluated every ``step`` over (start, end]."""
        out = {}
        chunk = step * self.MAX_POINTS
        t = start
        while t < end:
            t_end = min(end, t + chunk)
            params = {"query": expr, "start": "%.3f" % (t + step), "end": "%.3f" % t_end, "step": "%ds" % int(step)}
            data = self._get("/api/v1/query_range", params)
            for series in data.get("result", []):
                for ts, val in series.get("values", []):
                    v = float(val)
                    b = float(ts) - step
                    out[b] = out.get(b, 0.0) + v
            t = t_end
        return out

    def fetch(self, slo, now):
        good, bad, total = (slo.query("prometheus", w) for w in ("good", "bad", "total"))
        if total is None or (good is None and bad is None):
            return [], None, None, now
        step = step_for(slo)
        end = now - (now % step)
        start = end - slo.window
        win = "%ds" % int(step)
        totals = self.range(total.replace("$window", win), start, end, step)
        parts = self.range((good or bad).replace("$window", win), start, end, step)
        buckets, seen = [], []
        for i in range(int(round(slo.window / step))):
            b = start + i * step
            tot = totals.get(b)
            if tot is None:
                buckets.append(_slo_math.Bucket(b, 0.0, 0.0))
                continue
            g = parts.get(b, 0.0)
            if good is None:
                g = tot - g
            if tot > 0:
                seen.append(b)
            buckets.append(_slo_math.Bucket(b, g, tot))
        first = seen[0] if seen else None
        last = seen[-1] + step if seen else None
        return buckets, first, last, now

    def close(self):
        pass


class EngineSource(LedgerSource):
    """The Engine's events and statistics over the window, replayed into an in-memory ledger (see _sli_engine)."""

    def __init__(self, client):
        self.client = client
        self.system = client.system_service()
        self.path = "the Engine's events and statistics"
        self._ledgers = {}

    def describe(self, slo):
        q = slo.query("engine", "total") or {}
        return "the Engine's events and statistics (%s)" % q.get("measurement", "no engine query in this SLO")

    def fetch(self, slo, now):
        if slo.query("engine", "total") is None:
            return [], None, None, now
        engine_now = epoch(self.system.get().time)
        if slo.window not in self._ledgers:
            self._ledgers[slo.window] = _sli_engine.engine_ledger(self.system, engine_now, slo.window)
        good, bad, total = (slo.query("engine", w) for w in ("good", "bad", "total"))
        step = step_for(slo)
        end = engine_now - (engine_now % step) + step
        buckets, first, last = self._ledgers[slo.window].buckets(good, total, end - slo.window, end, step, bad=bad)
        return buckets, first, last, engine_now

    def close(self):
        for ledger in self._ledgers.values():
            ledger.close()


def open_source(policy, client=None):
    if policy["source"] == "ledger":
        try:
            return LedgerSource(policy["ledger_path"])
        except LedgerError as exc:
            raise GateError(str(exc), "slo_policy.ledger_path")
    if policy["source"] == "prometheus":
        return PrometheusSource(policy["prometheus_url"], policy.get("prometheus_ca_file"))
    if client is None:
        raise GateError("slo_policy.source engine reads the Engine: the task needs auth", "auth")
    return EngineSource(client)


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
                slo.window = max(step_for(slo), now - _slo_spec.period_start(slo, now))
            try:
                buckets, first, last, at = source.fetch(slo, now)
            except GateError as exc:
                rep = {"slo": slo.name, "verdict": "no_data", "reason": "%s: %s" % (slo.name, exc),
                       "target": slo.target, "sli": None, "budget": None, "burn_rates": []}
            else:
                rep = _slo_math.evaluate(slo.name, buckets, slo.target, slo.window, at, step_for(slo),
                                         method=slo.method, slice_target=slo.slice_target, first_seen=first,
                                         last_seen=last, stale_after=slo.stale_after,
                                         warn_below=policy["warn_below"], where=source.describe(slo))
            rep["display_name"] = slo.display
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
        elif rep["verdict"] == "no_data" and policy["on_no_data"] == "block":
            blocking.append(rep)
    report = dict(report)
    report["change_class"] = policy["change_class"]
    report["blocking"] = [r["slo"] for r in blocking]
    bg = policy.get("break_glass") or {}
    if not blocking:
        report.update(passed=True, outcome="pass", message="SLO gate: every SLO within budget")
    elif policy["change_class"] == "remediation":
        report.update(passed=True, outcome="remediation",
                      message="SLO gate: remediation allowed although %s" % _list(blocking))
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
                            "budget_remaining": budget.get("remaining_share")})
    return out
