# SPDX-License-Identifier: GPL-3.0-or-later
"""sre-ovirt-exporter on the simulator's ``large`` seed (10,000 VMs, 200 hosts): Engine API requests per scrape
(target: bounded, <= 10), scrape time (target < 10 s), and the exporter process's peak RSS (target < 300 MiB).

    .venv/bin/python tests/benchmarks/bench_exporter.py [--seed large] [--scrapes 3]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tests", "simulator"))
from _common import finish, table  # noqa: E402
from ovirt_engine_sim.testing import start_simulator  # noqa: E402
from tests.support.prometheus import free_port  # noqa: E402

TARGETS = {"requests_per_scrape": 10, "scrape_seconds": 10.0, "peak_rss_mib": 300.0}


def peak_rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", default="large")
    ap.add_argument("--scrapes", type=int, default=3)
    args = ap.parse_args(argv)
    state = tempfile.mkdtemp(prefix="bench-exporter-")
    rows = []
    try:
        with start_simulator(state, seed=args.seed, time_scale=0.01) as sim:
            counts = sim.admin("GET", "")["counts"]
            port = free_port()
            env = dict(os.environ, **sim.env())
            env.update({"SRE_OVIRT_EXPORTER_PORT": str(port), "SRE_OVIRT_EXPORTER_LISTEN": "127.0.0.1",
                        "SRE_OVIRT_EXPORTER_CACHE_SECONDS": "0"})
            proc = subprocess.Popen([os.path.join(REPO, ".venv", "bin", "python"),
                                     os.path.join(REPO, "scripts", "sre-ovirt-exporter")], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                url = "http://127.0.0.1:%d/metrics" % port
                deadline = time.monotonic() + 30
                while True:
                    try:
                        urllib.request.urlopen(url.replace("/metrics", "/"), timeout=2).read()
                        break
                    except OSError:
                        assert time.monotonic() < deadline and proc.poll() is None, "exporter did not start"
                        time.sleep(0.2)
                for i in range(args.scrapes):
                    since = sim.requests()[-1]["seq"] if sim.requests() else 0
                    t0 = time.perf_counter()
                    with urllib.request.urlopen(url, timeout=120) as r:
                        body = r.read()
                    seconds = time.perf_counter() - t0
                    api = sim.api_requests(since)
                    up = b"sre_ovirt_exporter_up 1.0" in body
                    rows.append({"scrape": i + 1, "seconds": seconds, "requests": len(api), "bytes": len(body),
                                 "series": body.count(b"\n") - body.count(b"\n#"), "exporter_up": up,
                                 "peak_rss_mib": peak_rss_mib(proc.pid)})
            finally:
                proc.terminate()
                proc.wait(20)
    finally:
        shutil.rmtree(state, ignore_errors=True)
    table("sre-ovirt-exporter, seed %s (%d VMs, %d hosts), cache off" % (args.seed, counts["vms"], counts["hosts"]),
          rows, ["scrape", "seconds", "requests", "bytes", "series", "exporter_up", "peak_rss_mib"])
    worst = {"requests_per_scrape": max(r["requests"] for r in rows),
             "scrape_seconds": max(r["seconds"] for r in rows),
             "peak_rss_mib": max(r["peak_rss_mib"] for r in rows)}
    missed = [k for k, v in worst.items() if v > TARGETS[k]]
    if not all(r["exporter_up"] for r in rows):
        missed.append("exporter_up")
    return finish("bench_exporter", {"seed": args.seed, "counts": counts, "targets": TARGETS, "worst": worst,
                                     "scrapes": rows}, missed)


if __name__ == "__main__":
    sys.exit(main())
