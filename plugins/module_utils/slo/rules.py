# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Prometheus recording and multi-window burn-rate alert rules from the same OpenSLO SLOs the gate reads."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sre.ovirt.plugins.module_utils.slo.budget import BURN_PAIRS, human

SEVERITY = {14.4: "page", 6.0: "page", 3.0: "ticket", 1.0: "ticket"}
# Alerts on a raw series that go with an SLO: the SLO judges the month, these page about one object now.
EXTRA_ALERTS = {
    "backup-freshness": [{
        "alert": "BackupTooOld",
        "expr": "max by (vm) (sre_ovirt_backup_age_seconds) > 26 * 3600",
        "for": "1h",
        "labels": {"slo": "backup-freshness", "severity": "page"},
        "annotations": {"summary": "A protected VM has no good restore point younger than 26 h",
                        "description": "The vm label names it; its newest good point is older than the RPO.",
                        "runbook_url": "docs/backup.md#when-a-backup-is-too-old"}}],
}


def record_name(window):
    return "slo:sli_error:ratio_rate%s" % human(window)


def error_ratio_expr(slo, window):
    w = human(window)
    total = slo.query("prometheus", "total").replace("$window", w)
    good = slo.query("prometheus", "good")
    if good is not None:
        return "1 - ((%s) / (%s))" % (good.replace("$window", w), total)
    bad = slo.query("prometheus", "bad").replace("$window", w)
    return "(%s) / (%s)" % (bad, total)


def rule_groups(slos):
    """``groups`` for a Prometheus rules file; SLOs without a Prometheus query are left out (and listed)."""
    windows = sorted(set([w for pair in BURN_PAIRS for w in pair[:2]]))
    groups, skipped = [], []
    for slo in slos:
        has_part = slo.query("prometheus", "good") is not None or slo.query("prometheus", "bad") is not None
        if slo.query("prometheus", "total") is None or not has_part:
            skipped.append(slo.name)
            continue
        labels = {"slo": slo.name}
        records = [{"record": record_name(w), "expr": error_ratio_expr(slo, w), "labels": dict(labels)}
                   for w in windows + [slo.window]]
        alerts = []
        for long_w, short_w, factor in BURN_PAIRS:
            threshold = "%g" % (factor * (1 - slo.target))
            fast = factor >= 6
            alerts.append({
                "alert": "SLOBurnRateFast" if fast else "SLOBurnRateSlow",
                "expr": '%s{slo="%s"} > %s and %s{slo="%s"} > %s' % (
                    record_name(long_w), slo.name, threshold, record_name(short_w), slo.name, threshold),
                "labels": {"slo": slo.name, "severity": SEVERITY.get(factor, "ticket"),
                           "long_window": human(long_w), "short_window": human(short_w)},
                "annotations": {
                    "summary": "%s is burning its error budget %sx too fast" % (slo.display, "%g" % factor),
                    "description": "Error ratio over %s and %s above %s (target %s over %s)." % (
                        human(long_w), human(short_w), threshold, "%g" % slo.target, human(slo.window))},
            })
        alerts += [dict(a) for a in EXTRA_ALERTS.get(slo.name, [])]
        groups.append({"name": "sre-ovirt-slo-%s" % slo.name, "rules": records + alerts})
    return groups, skipped
