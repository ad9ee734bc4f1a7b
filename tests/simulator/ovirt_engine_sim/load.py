# SPDX-License-Identifier: GPL-3.0-or-later
"""Statistics that move on the clock: growth per month, a weekly cycle and deterministic noise.

Configured through the ``load`` tunable (admin API ``POST /sim/tunables {"load": {...}}``)::

    {"epoch": 1767225600,                         # when growth starts (simulated epoch seconds)
     "clusters": {"Default": {"cpu": 4.0,         # percentage points added per 30-day month
                              "memory": 3.0, "storage": 2.0, "network": 5.0}},
     "weekly": 5.0,                               # amplitude of the weekly cycle, percentage points
     "noise": 1.0}                                # amplitude of the (seeded) noise, percentage points

``level`` is the one function everything uses (host and VM statistics, NIC rates, storage domain usage), so a
test can write the history the simulator would have shown: ``level(cfg, cluster, kind, base, t)`` for past ``t``.
Without the tunable every statistic is what it was (no growth, no cycle, no noise)."""

import math

MONTH = 30 * 86400
WEEK = 7 * 86400


def _noise(t, kind):
    """Deterministic in [-1, 1]: the same time gives the same value in every process."""
    x = math.sin((int(t) // 60) * 12.9898 + len(kind) * 78.233) * 43758.5453
    return 2.0 * (x - math.floor(x)) - 1.0


def delta(cfg, cluster, kind, t):
    """Percentage points added to ``kind`` ("cpu", "memory", "storage", "network") at simulated time ``t``."""
    if not cfg:
        return 0.0
    rates = (cfg.get("clusters") or {}).get(cluster) or (cfg.get("clusters") or {}).get("*") or {}
    months = max(0.0, (t - float(cfg.get("epoch", t))) / MONTH)
    out = float(rates.get(kind, 0.0)) * months
    weekly = float(cfg.get("weekly", 0.0))
    if weekly and kind in ("cpu", "network"):
        out += weekly * math.sin(2 * math.pi * (t % WEEK) / WEEK)
    noise = float(cfg.get("noise", 0.0))
    if noise:
        out += noise * _noise(t, kind)
    return out


def level(cfg, cluster, kind, base, t, cap=99.0):
    """A percentage: ``base`` plus the growth, cycle and noise at ``t``, within [0, cap]."""
    return max(0.0, min(cap, base + delta(cfg, cluster, kind, t)))
