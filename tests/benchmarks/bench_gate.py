# SPDX-License-Identifier: GPL-3.0-or-later
"""SLO gate evaluation time: five SLOs over one million ledger rows (target < 100 ms), and, when
``--prometheus URL`` is given, against Prometheus holding 30 days of data (target < 500 ms).

    .venv/bin/python tests/benchmarks/bench_gate.py [--rows 1000000] [--prometheus http://127.0.0.1:9090]
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, REPO)
from _common import finish, percentile, table  # noqa: E402
from tests.support.collection import collections_path  # noqa: E402
from tests.support.sli_history import seed  # noqa: E402

sys.path.insert(0, collections_path())
from ansible_collections.sre.ovirt.plugins.module_utils.slo import gate as slo_gate, policy as slo_policy  # noqa: E402

TARGETS = {"ledger_p50_ms": 100.0, "prometheus_p50_ms": 500.0}


def timed(policy, now, n):
    out, report = [], None
    for _run in range(n):
        t0 = time.perf_counter()
        report = slo_gate.decide(policy, slo_gate.evaluate_all(policy, now=now))
        out.append((time.perf_counter() - t0) * 1000.0)
    return out, report


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--prometheus", help="Prometheus base URL holding the backfilled history")
    ap.add_argument("--with-prometheus", action="store_true",
                    help="backfill 30 days with promtool into a temporary Prometheus and measure against it")
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="bench-gate-")
    rows_out, result = [], {"targets": TARGETS}
    try:
        path = os.path.join(tmp, "ledger.sqlite")
        now = time.time()
        # per_step spreads the rows over 30 days: 8640 steps of 5 minutes.
        per_step = max(1, int(round((args.rows / 8640.0 - 1.17) / 2)))
        t0 = time.perf_counter()
        n = seed(path, now, per_step=per_step)
        result["ledger_rows"] = n
        result["ledger_seed_s"] = time.perf_counter() - t0
        result["ledger_mib"] = os.path.getsize(path) / 2.0**20
        policy = slo_policy.normalize({"ledger_path": path, "cache_ttl": 0})
        ms, report = timed(policy, now, args.runs)
        assert report["passed"], report["message"]
        result.update(ledger_p50_ms=percentile(ms, 50), ledger_max_ms=max(ms))
        rows_out.append({"source": "ledger (%d rows)" % n, "slos": len(report["slos"]), "p50_ms": percentile(ms, 50),
                         "max_ms": max(ms), "target_ms": TARGETS["ledger_p50_ms"]})
        server = None
        if args.with_prometheus:
            from tests.support import prometheus as prom
            t0 = time.perf_counter()
            prom.backfill(os.path.join(tmp, "tsdb"), prom.openmetrics(now), tmp)
            result["prometheus_backfill_s"] = time.perf_counter() - t0
            server = prom.start_prometheus(tmp, os.path.join(tmp, "tsdb"))
            args.prometheus = server.url
        if args.prometheus:
            policy = slo_policy.normalize({"source": "prometheus", "prometheus_url": args.prometheus, "cache_ttl": 0})
            try:
                ms, report = timed(policy, time.time(), args.runs)
            finally:
                if server is not None:
                    server.stop()
            assert report["passed"], report["message"]
            result.update(prometheus_p50_ms=percentile(ms, 50), prometheus_max_ms=max(ms))
            rows_out.append({"source": "prometheus", "slos": len(report["slos"]), "p50_ms": percentile(ms, 50),
                             "max_ms": max(ms), "target_ms": TARGETS["prometheus_p50_ms"]})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    table("SLO gate evaluation (%d runs each)" % args.runs, rows_out, ["source", "slos", "p50_ms", "max_ms", "target_ms"])
    missed = [k for k, limit in TARGETS.items() if k in result and not result[k] < limit]
    return finish("gate", result, missed)


if __name__ == "__main__":
    sys.exit(main())
