# SPDX-License-Identifier: GPL-3.0-or-later
"""Budget maths against hand-worked cases."""

import math

import pytest

from ansible_collections.sre.ovirt.plugins.module_utils.slo.budget import (
    Bucket, burn_rate, evaluate, human, parse_duration, window_stats)

DAY = 86400.0
NOW = 1000 * DAY  # any fixed "now"
MONTH = 30 * DAY


def availability(down_minutes_ago, step=60.0, window=MONTH):
    """One VM sampled every minute for the window; ``down_minutes_ago``: minutes (counted back from now) down."""
    out = []
    n = int(window // step)
    for i in range(n):
        start = NOW - window + i * step
        minutes_ago = int((NOW - start) // 60)
        down = minutes_ago in down_minutes_ago
        out.append(Bucket(start, 0.0 if down else step, step))
    return out


def test_999_over_30_days_is_43_2_minutes_timeslices():
    r = evaluate("vm-availability", availability(set()), 0.999, MONTH, NOW, 60.0, method="Timeslices")
    assert r["verdict"] == "pass"
    assert r["budget"]["total_minutes"] == pytest.approx(43.2)
    assert r["budget"]["remaining_share"] == pytest.approx(1.0)


@pytest.mark.parametrize("method", ["Occurrences", "Timeslices"])
def test_20_minutes_down_leaves_53_7_percent(method):
    # Down for 20 minutes, ten days ago (so no burn-rate window sees it).
    down = set(range(14400, 14420))
    r = evaluate("vm-availability", availability(down), 0.999, MONTH, NOW, 60.0, method=method)
    assert r["budget"]["remaining_share"] == pytest.approx(1 - 20 / 43.2)
    assert round(r["budget"]["remaining_share"] * 100, 1) == 53.7
    assert r["sli"] == pytest.approx(1 - 20 / 43200.0)
    if method == "Occurrences":  # seconds of downtime, time-weighted
        assert r["budget"]["total"] == pytest.approx(2592.0)
        assert r["budget"]["consumed"] == pytest.approx(1200.0)
    else:
        assert r["budget"]["consumed_minutes"] == pytest.approx(20.0)
    assert r["verdict"] == "pass"


def test_recent_downtime_burns_fast_and_warns():
    # The same 20 minutes, but the last 20: 1 h window burns at (20/60)/0.001 = 333.3x, 5 m at 1000x.
    r = evaluate("vm-availability", availability(set(range(1, 21))), 0.999, MONTH, NOW, 60.0,
                 method="Timeslices")
    rates = {(b["long"], b["short"]): b for b in r["burn_rates"]}
    assert rates[("1h", "5m")]["long_rate"] == pytest.approx(333.333, rel=1e-3)
    assert rates[("1h", "5m")]["short_rate"] == pytest.approx(1000.0)
    assert rates[("1h", "5m")]["alerting"]
    assert rates[("6h", "30m")]["long_rate"] == pytest.approx((20 / 360.0) / 0.001)
    assert rates[("1d", "2h")]["long_rate"] == pytest.approx((20 / 1440.0) / 0.001)
    assert rates[("3d", "6h")]["long_rate"] == pytest.approx((20 / 4320.0) / 0.001)
    assert r["verdict"] == "warn" and "burn" in r["reason"]


def test_budget_spent_fails():
    r = evaluate("vm-availability", availability(set(range(10000, 10050))), 0.999, MONTH, NOW, 60.0,
                 method="Timeslices")
    assert r["budget"]["remaining_share"] == pytest.approx(1 - 50 / 43.2)
    assert r["verdict"] == "fail" and "budget spent" in r["reason"]


def test_occurrences_are_event_weighted_not_averaged():
    # Hour 1: 1 boot, slow. Hour 2: 99 boots, all fast. Event-weighted: 99/100 good. Averaging the hourly
    # ratios would give 0.5, which is wrong.
    buckets = [Bucket(NOW - 7200, 0, 1), Bucket(NOW - 3600, 99, 99)]
    good, total = window_stats(buckets, "Occurrences", NOW - 7200)
    assert good / total == pytest.approx(0.99)
    good, total = window_stats(buckets, "RatioTimeslices", NOW - 7200)
    assert good / total == pytest.approx(0.5)  # OpenSLO's RatioTimeslices is the mean of slice ratios


def test_boot_time_events_budget():
    # 1000 boots in 30 days, 995 within 60 s, target 99%: 10 slow boots allowed, 5 spent.
    buckets = [Bucket(NOW - MONTH + i * 3600, 0, 0) for i in range(720)]
    buckets[0] = Bucket(NOW - MONTH, 995, 1000)
    r = evaluate("vm-boot-time", buckets, 0.99, MONTH, NOW, 3600.0, first_seen=NOW - MONTH)
    assert r["budget"]["total"] == pytest.approx(10.0)
    assert r["budget"]["consumed"] == pytest.approx(5.0)
    assert r["budget"]["remaining_share"] == pytest.approx(0.5)
    assert r["verdict"] == "pass"


def test_burn_rate_factor_one_spends_exactly_the_budget():
    buckets = [Bucket(NOW - 3600, 999, 1000)]
    assert burn_rate(buckets, "Occurrences", 0.999, NOW, 3600) == pytest.approx(1.0)
    assert burn_rate([], "Occurrences", 0.999, NOW, 3600) is None


@pytest.mark.parametrize("buckets,kw,needle", [
    ([], {}, "no data for"),
    ([Bucket(NOW - 60, float("nan"), 60.0)], {}, "no data for"),
    ([Bucket(NOW - 60, 60.0, 60.0)], {"first_seen": NOW - 3 * DAY}, "shorter than its 30d window"),
    ([Bucket(NOW - MONTH, 60.0, 60.0)], {"first_seen": NOW - MONTH, "last_seen": NOW - 7200,
                                         "stale_after": 900}, "stale after 15m"),
])
def test_no_data_is_its_own_verdict(buckets, kw, needle):
    r = evaluate("vm-availability", buckets, 0.999, MONTH, NOW, 60.0, where="ledger /tmp/x.db", **kw)
    assert r["verdict"] == "no_data"
    assert needle in r["reason"] and "vm-availability" in r["reason"] and "/tmp/x.db" in r["reason"]


def test_invalid_arguments():
    with pytest.raises(ValueError, match="budgetingMethod"):
        evaluate("x", [], 0.99, MONTH, NOW, 60.0, method="Average")
    with pytest.raises(ValueError, match="target"):
        evaluate("x", [], 1.5, MONTH, NOW, 60.0)


def test_durations():
    assert parse_duration("30d") == MONTH
    assert parse_duration("5m") == 300 and parse_duration("1M") == MONTH and parse_duration("2w") == 14 * DAY
    assert human(3600) == "1h" and human(MONTH) == "30d" and human(90) == "90s"
    for bad in ("30", "d", "-1h", "1x", "0d"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert math.isclose(parse_duration(60), 60.0)
