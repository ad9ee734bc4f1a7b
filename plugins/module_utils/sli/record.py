# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the collection's own measurements go: the SLI ledger and, when set, a Prometheus Pushgateway.

Modules queue ``(measurement, value, t, weight, subject, source_id)`` rows; ``flush`` writes them once at
the end of the task. Nothing is recorded unless an SLO policy is set or ``SRE_OVIRT_LEDGER`` names a ledger.
Recording never fails a task: a problem becomes a warning.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.sre.ovirt.plugins.module_utils.sli.ledger import BOUNDS, Ledger, LedgerError

ENV_LEDGER = "SRE_OVIRT_LEDGER"
PREFIX = "sre_ovirt_"


def ledger_path(policy):
    if policy is not None:
        return policy["ledger_path"]
    return os.environ.get(ENV_LEDGER)


def flush(policy, rows, warn=None):
    if not rows:
        return
    path = ledger_path(policy)
    if path:
        try:
            ledger = Ledger(path)
            try:
                ledger.record_many(rows)
            finally:
                ledger.close()
        except LedgerError as exc:
            if warn:
                warn("SLI measurements not recorded: %s" % exc)
    url = (policy or {}).get("pushgateway_url")
    if url:
        try:
            push(url, rows)
        except Exception as exc:  # noqa: BLE001 - a Pushgateway outage must not fail the change itself
            if warn:
                warn("SLI measurements not pushed to %s: %s" % (url, exc))


def histogram_text(name, values, existing=None):
    """Prometheus text for a cumulative histogram of ``values`` added to ``existing`` counts
    ({"buckets": {le: n}, "count": n, "sum": x})."""
    existing = existing or {"buckets": {}, "count": 0.0, "sum": 0.0}
    lines = ["# TYPE %s histogram" % name]
    for bound in list(BOUNDS) + ["+Inf"]:
        le = "+Inf" if bound == "+Inf" else _fmt(bound)
        n = existing["buckets"].get(le, 0.0) + sum(1 for v in values if bound == "+Inf" or v <= bound)
        lines.append('%s_bucket{le="%s"} %s' % (name, le, _fmt(n)))
    lines.append("%s_count %s" % (name, _fmt(existing["count"] + len(values))))
    lines.append("%s_sum %s" % (name, _fmt(existing["sum"] + sum(values))))
    return "\n".join(lines) + "\n"


def _fmt(x):
    return ("%.6f" % x).rstrip("0").rstrip(".") if isinstance(x, float) else str(x)


def push(url, rows):
    """Add the rows' event measurements to cumulative histograms in the Pushgateway group job="sre_ovirt".

    The Pushgateway keeps the last push per group, so the current counts are read back and added to
    (read-modify-write; two jobs pushing at the same instant may lose one push's counts)."""
    from ansible.module_utils.urls import open_url
    import json
    by_name = {}
    for measurement, value, _t, weight, _subject, _sid in rows:
        if measurement in ("vm_up", "backup_fresh"):
            continue  # time-based samples: Prometheus gets them as gauges (the exporter, sli_collect, backup_info)
        by_name.setdefault(PREFIX + measurement, []).append(value)
    if not by_name:
        return
    base = url.rstrip("/")
    current = {}
    try:
        data = json.loads(open_url(base + "/api/v1/metrics", timeout=10).read())
        for group in data.get("data", []):
            if group.get("labels", {}).get("job") != "sre_ovirt":
                continue
            for name in by_name:
                fam = group.get(name)
                if not fam:
                    continue
                m = fam["metrics"][0]
                current[name] = {"buckets": dict((k, float(v)) for k, v in m.get("buckets", {}).items()),
                                 "count": float(m.get("count", 0)), "sum": float(m.get("sum", 0))}
    except Exception:  # noqa: BLE001 - an empty or new Pushgateway has nothing to add to
        current = {}
    body = "".join(histogram_text(name, values, current.get(name)) for name, values in sorted(by_name.items()))
    open_url(base + "/metrics/job/sre_ovirt", data=body, method="POST", timeout=10,
             headers={"Content-Type": "text/plain; version=0.0.4"})


def push_gauges(url, job, families):
    """Replace the Pushgateway group ``job`` with gauges: {name: [(labels dict, value), ...]} (a PUT: series that
    are gone, such as a VM no longer backed up, go too)."""
    from ansible.module_utils.urls import open_url
    lines = []
    for name in sorted(families):
        lines.append("# TYPE %s gauge" % name)
        for labels, value in families[name]:
            text = ",".join('%s="%s"' % (k, str(v).replace("\\", "\\\\").replace('"', '\\"'))
                            for k, v in sorted(labels.items()))
            lines.append("%s{%s} %s" % (name, text, _fmt(float(value))))
    open_url(url.rstrip("/") + "/metrics/job/" + job, data="\n".join(lines) + "\n", method="PUT", timeout=10,
             headers={"Content-Type": "text/plain; version=0.0.4"})
