# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Error-budget maths, pure Python: SLI over a window, budget, burn rates and a verdict per SLO.

Every SLI source (ledger, Prometheus, Engine) delivers the same thing: a list of ``Bucket(start, good,
total)`` on a fixed step, oldest first, covering the SLO window and ending at ``now``. Ratios are
event-weighted (sum of good over sum of total), never an average of short-window ratios.

Budgeting methods (OpenSLO):

``Occurrences``      SLI = sum(good) / sum(total); budget = (1 - target) * sum(total) events (or seconds, for a
                     time-based SLI whose good/total are seconds up/observed).
``Timeslices``       each bucket is a slice; a slice is good when its ratio >= ``time_slice_target``;
                     SLI = good slices / slices with data; budget = (1 - target) * slices, in minutes.
``RatioTimeslices``  SLI = mean of the per-slice ratios (OpenSLO's definition); budget as for Timeslices.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
from collections import namedtuple

Bucket = namedtuple("Bucket", "start good total")

# (long window, short window, burn-rate factor): the standard multi-window pairs for a 30-day budget.
BURN_PAIRS = (
    (3600, 300, 14.4),
    (6 * 3600, 1800, 6.0),
    (86400, 7200, 3.0),
    (3 * 86400, 6 * 3600, 1.0),
)

METHODS = ("Occurrences", "Timeslices", "RatioTimeslices")
VERDICTS = ("pass", "warn", "fail", "no_data")


def clean(buckets):
    """Drop buckets whose numbers are missing, NaN or infinite (a stale or broken series is not data)."""
    isfinite = math.isfinite
    return [b for b in buckets if b.total is not None and b.good is not None and b.total > 0
            and isfinite(b.total) and isfinite(b.good)]


def _slice_good(b, slice_target):
    return (b.good / b.total) >= slice_target - 1e-12


def window_stats(buckets, method, since, slice_target=1.0):
    """(good, total) over the buckets starting at or after ``since``, in the method's unit."""
    good = total = 0.0
    for b in buckets:
        if b.start < since:
            continue
        if method == "Occurrences":
            good += b.good
            total += b.total
        elif method == "Timeslices":
            good += 1.0 if _slice_good(b, slice_target) else 0.0
            total += 1.0
        else:  # RatioTimeslices
            good += b.good / b.total
            total += 1.0
    return good, total


def burn_rate(buckets, method, target, now, window, slice_target=1.0):
    """How fast the budget burns over the last ``window`` seconds: bad share / allowed bad share.

    1.0 spends exactly the budget over the SLO window; ``None`` when the window holds no data."""
    good, total = window_stats(buckets, method, now - window, slice_target)
    if total <= 0:
        return None
    allowed = 1.0 - target
    if allowed <= 0:
        return float("inf") if good < total else 0.0
    return ((total - good) / total) / allowed


def evaluate(name, buckets, target, window, now, step, method="Occurrences", slice_target=1.0,
             first_seen=None, last_seen=None, stale_after=None, warn_below=0.25, burn_pairs=BURN_PAIRS,
             where=""):
    """The report for one SLO: SLI, budget total/consumed/remaining, burn rates and the verdict with a reason.

    ``buckets``: oldest first, ``step`` seconds each. ``first_seen``/``last_seen``: the times of the oldest and
    newest raw data point (history shorter than the window, or a series older than ``stale_after``, is no_data).
    ``where`` says where the data was looked for, for the no_data message.
    """
    if method not in METHODS:
        raise ValueError("budgetingMethod must be one of %s, got %r" % (", ".join(METHODS), method))
    if not 0 < target < 1:
        raise ValueError("target must be between 0 and 1 (exclusive), got %r" % (target,))
    report = {"slo": name, "target": target, "window_seconds": window, "method": method, "sli": None,
              "budget": None, "burn_rates": [], "verdict": "no_data", "reason": ""}
    data = clean(buckets)
    start = now - window
    if not data:
        report["reason"] = "no data for %s in the last %s%s" % (name, human(window), _where(where))
        return report
    if first_seen is not None and first_seen > start + step:
        report["reason"] = ("history for %s starts %s ago, shorter than its %s window%s" % (
            name, human(now - first_seen), human(window), _where(where)))
        return report
    if stale_after is not None and last_seen is not None and now - last_seen > stale_after:
        report["reason"] = "the newest data for %s is %s old (stale after %s)%s" % (
            name, human(now - last_seen), human(stale_after), _where(where))
        return report
    good, total = window_stats(data, method, start, slice_target)
    if total <= 0:
        report["reason"] = "no data for %s in the last %s%s" % (name, human(window), _where(where))
        return report
    sli = good / total
    allowed = (1.0 - target) * total
    consumed = total - good
    remaining = 1.0 - consumed / allowed if allowed > 0 else (1.0 if consumed == 0 else float("-inf"))
    unit = "events" if method == "Occurrences" else "slices"
    budget = {"total": allowed, "consumed": consumed, "remaining": allowed - consumed,
              "remaining_share": remaining, "unit": unit}
    if method != "Occurrences":
        budget.update(total_minutes=allowed * step / 60.0, consumed_minutes=consumed * step / 60.0,
                      remaining_minutes=(allowed - consumed) * step / 60.0)
    report.update(sli=sli, budget=budget, good=good, count=total)
    alerting = []
    for long_w, short_w, factor in burn_pairs:
        lr = burn_rate(data, method, target, now, long_w, slice_target)
        sr = burn_rate(data, method, target, now, short_w, slice_target)
        fires = lr is not None and sr is not None and lr > factor and sr > factor
        report["burn_rates"].append({"long": human(long_w), "short": human(short_w), "factor": factor,
                                     "long_rate": lr, "short_rate": sr, "alerting": fires})
        if fires:
            alerting.append("%s/%s burn %.1fx > %sx" % (human(long_w), human(short_w), lr, factor))
    if remaining <= 0:
        report["verdict"] = "fail"
        report["reason"] = "error budget spent: SLI %.4f%% < target %.4f%% over %s (%.1f%% of budget remaining)" % (
            sli * 100, target * 100, human(window), remaining * 100)
    elif alerting:
        report["verdict"] = "warn"
        report["reason"] = "burning fast: " + "; ".join(alerting)
    elif remaining < warn_below:
        report["verdict"] = "warn"
        report["reason"] = "%.1f%% of the error budget remains (warn below %.0f%%)" % (
            remaining * 100, warn_below * 100)
    else:
        report["verdict"] = "pass"
        report["reason"] = "%.1f%% of the error budget remains" % (remaining * 100)
    return report


def _where(where):
    return " (looked in %s)" % where if where else ""


_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def human(seconds):
    seconds = int(round(seconds))
    for suffix, size in _UNITS:
        if seconds >= size and seconds % size == 0:
            return "%d%s" % (seconds // size, suffix)
    return "%ds" % seconds


def parse_duration(text):
    """``30d``, ``6h``, ``5m``, ``90s``, ``2w`` (and the OpenSLO ``1M``/``1Q``/``1Y`` calendar units) -> seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    text = str(text).strip()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 30 * 86400, "Q": 91 * 86400,
             "Y": 365 * 86400}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit() or int(text[:-1]) <= 0:
        raise ValueError("a duration like 30d, 6h, 5m or 1M, got %r" % (text,))
    return float(int(text[:-1]) * units[text[-1]])
