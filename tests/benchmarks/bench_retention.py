# SPDX-License-Identifier: GPL-3.0-or-later
"""Retention planning: ``retention.plan`` over synthetic manifests (no files, no Engine).

Target (issue 13): planning over a repository of 1,000 points under 1 s. Measured for 1,000 nightly points in one
incremental chain (the worst case for chain walking: every kept point's gap is merged) and in weekly-full chains,
with the policy keep_daily 7, keep_weekly 4, keep_monthly 12, keep_yearly 3; the median of 5 runs.

Prints a table, writes ``results/retention.json`` and exits 1 if the target is missed.

    .venv/bin/python tests/benchmarks/bench_retention.py [--points 1000]
"""

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, REPO)
from _common import finish, table  # noqa: E402
from tests.support.collection import collections_path  # noqa: E402

sys.path.insert(0, collections_path())
from ansible_collections.sre.ovirt.plugins.module_utils.backup import retention  # noqa: E402

POLICY = {"keep_daily": 7, "keep_weekly": 4, "keep_monthly": 12, "keep_yearly": 3}
START = 1577934000          # 2020-01-02T03:00:00Z


def manifests(count, fulls_every=None, bad_every=None):
    out = []
    for i in range(count):
        t = START + i * 86400
        full = i == 0 or bool(fulls_every and i % fulls_every == 0)
        out.append({"id": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t)) + "-%08x" % i, "started_epoch": t,
                    "finished_epoch": t + 300, "type": "full" if full else "incremental",
                    "parent": None if full else out[-1]["id"], "checkpoint_id": "cp-%d" % i,
                    "status": "bad" if bad_every and i % bad_every == bad_every - 1 else "good",
                    "disks": [{"disk_id": "d1", "file": "d1.qcow2"}]})
    return out


def measure(points, runs=5):
    times = []
    for _run in range(runs):
        t0 = time.perf_counter()
        result = retention.plan(points, POLICY)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1000)
    args = ap.parse_args()
    rows, missed = [], []
    for case, pts in (("one incremental chain", manifests(args.points)),
                      ("a full every 7 points", manifests(args.points, fulls_every=7)),
                      ("one chain, every 50th point bad", manifests(args.points, bad_every=50))):
        seconds, result = measure(pts)
        rows.append({"case": case, "points": len(pts), "kept": len(result["keep"]), "removed": len(result["remove"]),
                     "consolidated": len(result["consolidate"]), "seconds": seconds, "limit_seconds": 1.0})
        if seconds >= 1.0:
            missed.append("plan_seconds: %s" % case)
    table("Retention planning (median of 5 runs; policy %s)" % POLICY, rows,
          ["case", "points", "kept", "removed", "consolidated", "seconds", "limit_seconds"])
    return finish("retention", {"rows": rows, "policy": POLICY}, missed)


if __name__ == "__main__":
    sys.exit(main())
