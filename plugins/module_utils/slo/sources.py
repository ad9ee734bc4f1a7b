# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the gate reads SLIs: the SQLite ledger, Prometheus, or the Engine's own events (replayed)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.sre.ovirt.plugins.module_utils.sli import replay
from ansible_collections.sre.ovirt.plugins.module_utils.sli.ledger import Ledger, LedgerError
from ansible_collections.sre.ovirt.plugins.module_utils.model.events import epoch
from ansible_collections.sre.ovirt.plugins.module_utils.slo import budget
from ansible_collections.sre.ovirt.plugins.module_utils.slo.policy import GateError


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
                buckets.append(budget.Bucket(b, 0.0, 0.0))
                continue
            g = parts.get(b, 0.0)
            if good is None:
                g = tot - g
            if tot > 0:
                seen.append(b)
            buckets.append(budget.Bucket(b, g, tot))
        first = seen[0] if seen else None
        last = seen[-1] + step if seen else None
        return buckets, first, last, now

    def close(self):
        pass


class EngineSource(LedgerSource):
    """The Engine's events and statistics over the window, replayed into an in-memory ledger (see sli.replay)."""

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
            self._ledgers[slo.window] = replay.engine_ledger(self.system, engine_now, slo.window)
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
