# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared by the benchmarks: percentile maths, a table printer and the JSON writer."""

import json
import os
import platform
import time

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def percentile(values, pct):
    """Nearest-rank percentile of ``values`` (pct in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, int(round(pct / 100.0 * len(ordered) + 0.5)))
    return ordered[min(rank, len(ordered)) - 1]


def table(title, rows, columns):
    """Print ``rows`` (dicts) as a fixed-width table with the given ``columns``."""
    widths = [max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns]
    print("\n" + title)
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).ljust(w) for c, w in zip(columns, widths)))


def _fmt(v):
    if isinstance(v, float):
        return "%.3f" % v
    return "" if v is None else str(v)


def write_json(name, payload):
    os.makedirs(RESULTS, exist_ok=True)
    payload = dict(payload)
    payload.setdefault("machine", {"python": platform.python_version(), "cpus": os.cpu_count(),
                                   "platform": platform.platform()})
    payload.setdefault("finished_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    path = os.path.join(RESULTS, name + ".json")
    with open(path + ".tmp", "w") as f:
        json.dump(payload, f, indent=2, sort_keys=True)
    os.replace(path + ".tmp", path)
    print("\nwrote %s" % path)
    return path


def finish(name, payload, missed):
    """Write ``payload`` with its missed targets, say which were missed; the exit code (1 when any)."""
    payload = dict(payload, missed_targets=list(missed))
    write_json(name, payload)
    if missed:
        print("missed targets: %s" % ", ".join(missed))
        return 1
    return 0
