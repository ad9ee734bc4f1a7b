# SPDX-License-Identifier: GPL-3.0-or-later
"""The capacity forecast on synthetic histories with a known growth: the date of reaching 90 % within +-10 % of the
true date (linear; linear with a weekly cycle, noise and outliers), and "not within the horizon" when flat."""

import math
import random

import pytest

from ansible_collections.sre.ovirt.plugins.module_utils.monitoring import forecast as F

DAY = 86400.0
MONTH = 30 * DAY
START = 1767225600.0   # 2026-01-01


def history(rate_per_month, base=40.0, days=182, step=3600, weekly=0.0, noise=0.0, outliers=0, seed=7):
    rng = random.Random(seed)
    times, values = [], []
    for i in range(int(days * DAY / step)):
        t = START + i * step
        v = base + rate_per_month * (t - START) / MONTH
        v += weekly * math.sin(2 * math.pi * ((t / DAY) % 7) / 7)
        v += rng.gauss(0, noise) if noise else 0.0
        times.append(t)
        values.append(v)
    for dummy in range(outliers):   # a few wild samples (a stuck collector, a batch job)
        values[rng.randrange(len(values))] = 100.0
    return times, values


def true_crossing(rate, threshold=90.0, base=40.0):
    return START + (threshold - base) / rate * MONTH


@pytest.mark.parametrize("case", [
    dict(rate=5.0),
    dict(rate=5.0, weekly=8.0, noise=3.0),
    dict(rate=3.0, weekly=6.0, noise=4.0, outliers=40),
    dict(rate=8.0, weekly=10.0, noise=2.0, days=120),
])
def test_date_of_reaching_90_percent_within_10_percent(case):
    rate = case.pop("rate")
    times, values = history(rate, **case)
    model = F.fit(times, values)
    now = times[-1]
    got = F.crossing(model, 90.0, now=now)
    truth = true_crossing(rate)
    assert got["date"] is not None, got
    assert abs(got["date"] - truth) <= 0.10 * (truth - now), (
        "forecast %.1f days ahead, true %.1f" % ((got["date"] - now) / DAY, (truth - now) / DAY))
    assert got["low"] <= truth <= got["high"]
    assert abs(model["growth_per_month"] - rate) <= 0.1 * rate
    # Warning before critical, both in order.
    warn = F.crossing(model, 80.0, now=now)
    assert warn["date"] < got["date"]


def test_flat_history_is_not_within_the_horizon():
    times, values = history(0.0, base=55.0, weekly=8.0, noise=3.0)
    model = F.fit(times, values)
    got = F.crossing(model, 90.0, now=times[-1])
    assert got["date"] is None and got["reason"].startswith("not within the horizon")
    assert abs(model["growth_per_month"]) < 0.5


def test_slow_growth_beyond_the_horizon_and_already_reached():
    times, values = history(0.5, base=40.0)
    model = F.fit(times, values)
    far = F.crossing(model, 90.0, now=times[-1], horizon_days=365)
    assert far["date"] is None and "365 days" in far["reason"]
    high = F.crossing(F.fit(*history(1.0, base=92.0)), 90.0)
    assert high["reached"]


def test_weekly_profile_is_found_and_prediction_interval_covers_the_future():
    times, values = history(4.0, weekly=8.0, noise=2.0)
    model = F.fit(times, values)
    assert max(model["profile"]) - min(model["profile"]) > 10   # +-8 around the trend, seen by weekday
    future = times[-1] + 30 * DAY
    mid, lo, hi = F.predict(model, future)
    truth = 40.0 + 4.0 * (future - START) / MONTH + 8.0 * math.sin(2 * math.pi * ((future / DAY) % 7) / 7)
    assert lo <= truth <= hi and hi - lo < 30


def test_too_little_history():
    assert F.fit([START, START + 3600], [10.0, 11.0]) is None
