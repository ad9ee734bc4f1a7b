# SPDX-License-Identifier: GPL-3.0-or-later
"""Simulator at scale: the ``large`` seed (200 hosts, 4 clusters, 10,000 VMs).

Measures start-up (new state dir and restart on it), resident memory, p50/p99 of a search by name and of a
single VM GET through the real SDK, and the time to list all VMs (SDK and raw HTTP). Prints a table, writes
``results/simulator.json`` and exits 1 if a target is missed.

    .venv/bin/python tests/benchmarks/bench_simulator.py [--samples 300]
"""

import argparse
import os
import random
import shutil
import ssl
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import finish, percentile, table  # noqa: E402

from ovirt_engine_sim.testing import start_simulator  # noqa: E402

TARGETS = {"get_p99_ms": 20.0, "search_p99_ms": 50.0, "list_all_s": 3.0, "rss_mib": 1024.0}


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def timed(fn, n):
    out = []
    for _sample in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--keep", help="state dir to use (kept); default: a temporary one")
    args = ap.parse_args(argv)
    state = args.keep or tempfile.mkdtemp(prefix="bench-sim-")
    result = {"seed": "large", "samples": args.samples, "targets": TARGETS}
    try:
        t0 = time.perf_counter()
        sim = start_simulator(state, seed="large", time_scale=1.0)
        result["startup_new_s"] = time.perf_counter() - t0
        sim.stop()
        t0 = time.perf_counter()
        sim = start_simulator(state, seed="large", time_scale=1.0)
        result["startup_restart_s"] = time.perf_counter() - t0
        try:
            conn = sim.connection()
            vms = conn.system_service().vms_service()
            conn.system_service().get()  # log in before timing
            names = [v.name for v in vms.list(search="page 1", max=2000)]
            ids = [v.id for v in vms.list(search="page 2", max=2000)]
            rnd = random.Random(7)
            get_ms = timed(lambda: vms.vm_service(rnd.choice(ids)).get(), args.samples)
            search_ms = timed(lambda: vms.list(search="name=%s" % rnd.choice(names)), args.samples)
            t0 = time.perf_counter()
            everything = vms.list()
            result["list_all_sdk_s"] = time.perf_counter() - t0
            result["vm_count"] = len(everything)
            token = conn.authenticate()
            ctx = ssl.create_default_context(cafile=sim.ca_file)
            req = urllib.request.Request(sim.url + "/vms", headers={"Authorization": "Bearer " + token,
                                                                    "Accept": "application/xml", "Version": "4"})
            t0 = time.perf_counter()
            with urllib.request.urlopen(req, context=ctx, timeout=120) as resp:
                size = len(resp.read())
            result["list_all_raw_s"] = time.perf_counter() - t0
            result["list_all_bytes"] = size
            result["rss_mib"] = rss_mib(sim.process.pid)
            conn.close()
        finally:
            sim.stop()
    finally:
        if not args.keep:
            shutil.rmtree(state, ignore_errors=True)
    result.update({"get_p50_ms": percentile(get_ms, 50), "get_p99_ms": percentile(get_ms, 99),
                   "search_p50_ms": percentile(search_ms, 50), "search_p99_ms": percentile(search_ms, 99),
                   "list_all_s": result["list_all_sdk_s"]})
    rows = [
        {"measure": "start-up, new state dir (s)", "value": result["startup_new_s"], "target": ""},
        {"measure": "start-up, restart (s)", "value": result["startup_restart_s"], "target": ""},
        {"measure": "resident memory (MiB)", "value": result["rss_mib"], "target": "< %d" % TARGETS["rss_mib"]},
        {"measure": "GET /vms/{id} p50 (ms)", "value": result["get_p50_ms"], "target": ""},
        {"measure": "GET /vms/{id} p99 (ms)", "value": result["get_p99_ms"], "target": "< %d" % TARGETS["get_p99_ms"]},
        {"measure": "search name=... p50 (ms)", "value": result["search_p50_ms"], "target": ""},
        {"measure": "search name=... p99 (ms)", "value": result["search_p99_ms"],
         "target": "< %d" % TARGETS["search_p99_ms"]},
        {"measure": "list %d VMs, SDK (s)" % result["vm_count"], "value": result["list_all_sdk_s"],
         "target": "< %d" % TARGETS["list_all_s"]},
        {"measure": "list all VMs, raw HTTP (s)", "value": result["list_all_raw_s"], "target": ""},
    ]
    table("ovirt-engine-sim, seed large (%d samples)" % args.samples, rows, ["measure", "value", "target"])
    missed = [k for k, limit in TARGETS.items() if not result[k] < limit]
    if result["vm_count"] != 10000:
        missed.append("vm_count (expected 10000, got %d)" % result["vm_count"])
    return finish("simulator", result, missed)


if __name__ == "__main__":
    sys.exit(main())
