# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Capacity forecasting, pure Python (docs/capacity.md, "The method").

1. The samples are reduced to daily means (the daily cycle and scrape jitter average out; a year is 365 points).
2. A first Theil-Sen line (the median of the slopes between every pair of days) gives the trend, robust to
   outliers and holidays: up to 29 % of the days can be anything without moving it.
3. With at least two weeks, the weekly pattern is the median residual of each weekday (centred on 0); it is
   removed and Theil-Sen is fitted again on the seasonally adjusted days.
4. The slope's 95 % interval is Sen's rank-based interval (from Kendall's S variance); the residual spread is the
   MAD (times 1.4826, a standard deviation for normal noise).
5. The date a threshold is reached is where the trend, anchored at the last fitted level, crosses it; its interval
   comes from the slope's interval and the level's uncertainty. A trend that is not significantly rising (the
   slope's interval includes 0), or that crosses beyond the horizon, is reported as "not within the horizon".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

DAY = 86400.0
MONTH = 30 * DAY
Z95 = 1.959964


def median(values):
    s = sorted(values)
    n = len(s)
    if not n:
        return float("nan")
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2.0


def daily(times, values):
    """[(day start epoch, mean)] of the samples, days in order."""
    buckets = {}
    for t, v in zip(times, values):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        d = math.floor(t / DAY) * DAY
        b = buckets.setdefault(d, [0.0, 0.0, 0])
        b[0] += t
        b[1] += v
        b[2] += 1
    return [(st / n, sv / n) for d, (st, sv, n) in sorted(buckets.items())]


def theil_sen(xs, ys):
    """(slope, intercept, sorted pairwise slopes)."""
    slopes = []
    n = len(xs)
    for i in range(n):
        xi, yi = xs[i], ys[i]
        for j in range(i + 1, n):
            dx = xs[j] - xi
            if dx:
                slopes.append((ys[j] - yi) / dx)
    slopes.sort()
    if not slopes:
        return 0.0, (median(ys) if ys else 0.0), slopes
    m = len(slopes)
    slope = slopes[m // 2] if m % 2 else (slopes[m // 2 - 1] + slopes[m // 2]) / 2.0
    intercept = median([y - slope * x for x, y in zip(xs, ys)])
    return slope, intercept, slopes


def sen_interval(slopes, n, z=Z95):
    """Sen's confidence interval of the Theil-Sen slope (no ties correction)."""
    m = len(slopes)
    if m < 3:
        return (slopes[0], slopes[-1]) if slopes else (0.0, 0.0)
    c = z * math.sqrt(n * (n - 1) * (2 * n + 5) / 18.0)
    lo = int(max(0, math.floor((m - c) / 2.0)))
    hi = int(min(m - 1, math.ceil((m + c) / 2.0)))
    return slopes[lo], slopes[hi]


def fit(times, values, seasonal=True):
    """The trend model of a history: slope per second, level at the last day, weekly profile, spread."""
    days = daily(times, values)
    if len(days) < 3:
        return None
    xs = [d[0] for d in days]
    ys = [d[1] for d in days]
    slope, intercept, slopes = theil_sen(xs, ys)
    profile = [0.0] * 7
    if seasonal and xs[-1] - xs[0] >= 14 * DAY:
        groups = [[] for dummy in range(7)]
        for x, y in zip(xs, ys):
            groups[int(x // DAY) % 7].append(y - (intercept + slope * x))
        profile = [median(g) if g else 0.0 for g in groups]
        mean = sum(profile) / 7.0
        profile = [p - mean for p in profile]
        ys = [y - profile[int(x // DAY) % 7] for x, y in zip(xs, ys)]
        slope, intercept, slopes = theil_sen(xs, ys)
    resid = [y - (intercept + slope * x) for x, y in zip(xs, ys)]
    spread = 1.4826 * median([abs(r - median(resid)) for r in resid])
    lo, hi = sen_interval(slopes, len(xs))
    end = xs[-1]
    return {"slope": slope, "slope_low": lo, "slope_high": hi, "intercept": intercept, "end": end,
            "level": intercept + slope * end, "level_sigma": spread / math.sqrt(len(xs)) if xs else 0.0,
            "spread": spread, "profile": profile, "days": len(xs), "xs": xs, "ys": ys,
            "growth_per_month": slope * MONTH}


def crossing(model, threshold, now=None, horizon_days=730):
    """When the trend reaches ``threshold``: {"date", "low", "high"} (epoch seconds; low = earliest) or
    {"date": None, "reason": ...}."""
    now = model["end"] if now is None else now
    level = model["level"] + model["slope"] * (now - model["end"])
    if level >= threshold:
        return {"date": now, "low": now, "high": now, "reason": "already reached", "reached": True}
    if model["slope"] <= 0 or model["slope_low"] <= 0:
        return {"date": None, "low": None, "high": None, "reached": False,
                "reason": "not within the horizon (no significant growth)"}
    date = now + (threshold - level) / model["slope"]
    horizon = now + horizon_days * DAY
    if date > horizon:
        return {"date": None, "low": None, "high": None, "reached": False,
                "reason": "not within the horizon (%d days)" % horizon_days}
    sig = Z95 * model["level_sigma"]
    early = now + max(0.0, threshold - level - sig) / model["slope_high"]
    late = now + (threshold - level + sig) / model["slope_low"]
    return {"date": date, "low": early, "high": min(late, horizon), "reached": False, "reason": None}


def predict(model, t):
    """The trend (seasonally adjusted) at ``t`` and its 95 % prediction interval (trend uncertainty + spread)."""
    trend = model["level"] + model["slope"] * (t - model["end"])
    ahead = max(0.0, t - model["end"])
    slope_sd = (model["slope_high"] - model["slope_low"]) / (2 * Z95)
    sd = math.sqrt(model["spread"] ** 2 + model["level_sigma"] ** 2 + (slope_sd * ahead) ** 2)
    season = model["profile"][int(t // DAY) % 7]
    return trend + season, trend + season - Z95 * sd, trend + season + Z95 * sd
