# SPDX-License-Identifier: GPL-3.0-or-later
"""Rolling patch of the ``patch`` seed (12 hosts, 240 VMs): strictly serial (batch size 1, what the incumbent
does) against the planned batches, each on a fresh simulator with the same seed and the same clock.

Prints wall time, API requests (and mutating ones), capacity violations found in the simulator's state
history, and the orchestration overhead: wall time minus the time the hosts themselves needed (per batch the
slowest host's drain 600->15, upgrade and reboot 840->842, activation, and pinned VMs' shutdown and boot,
from the simulator's events and tunables, at the run's time scale).

Target: planned >= 2.5x faster than serial, zero capacity violations in both, every host patched, every VM that
ran still running. Writes ``results/patch.json``; exits 1 if a target is missed.

    .venv/bin/python tests/benchmarks/bench_patch.py [--time-scale 0.05]
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
from _common import finish, table  # noqa: E402

from ovirt_engine_sim.testing import start_simulator  # noqa: E402
from tests.integration.harness import run_playbook  # noqa: E402
from tests.support.capacity import violations  # noqa: E402

PLAYBOOK = os.path.join(REPO, "playbooks", "patch_hosts.yml")
TARGET_RATIO = 2.5


def host_seconds(sim, batches, tunables):
    """Simulated seconds the hosts needed: per batch the slowest host, summed over batches."""
    conn = sim.connection()
    try:
        system = conn.system_service()
        events = system.events_service().list(max=100000)
        hosts = dict((h.name, h.id) for h in system.hosts_service().list())
        pinned_hosts = set(v.host.id for v in system.vms_service().list() if v.host is not None and
                           v.placement_policy is not None and v.placement_policy.affinity is not None and
                           v.placement_policy.affinity.value == "pinned")
    finally:
        conn.close()
    by_host = {}
    for e in events:
        if e.host is not None and e.code in (600, 15, 840, 842):
            by_host.setdefault(e.host.id, {}).setdefault(e.code, []).append(e.time.timestamp())
    total = 0.0
    for batch in batches:
        need = []
        for name in batch:
            t = by_host.get(hosts[name], {})
            drain = max(t[15]) - max(t[600]) if t.get(15) and t.get(600) else 0.0
            upgrade = max(t[842]) - max(t[840]) if t.get(842) and t.get(840) else 0.0
            extra = float(tunables.get("host_activate_seconds", 5))
            if hosts[name] in pinned_hosts:
                extra += float(tunables.get("vm_shutdown_seconds", 8)) + float(tunables.get("vm_boot_seconds", 20))
            need.append(drain + upgrade + extra)
        total += max(need)
    return total


def roll(label, time_scale, extra_vars):
    state = tempfile.mkdtemp(prefix="bench-patch-")
    try:
        with start_simulator(state, seed="patch", time_scale=time_scale) as sim:
            before = sim.state()
            mark = len(sim.history())
            running = set(v["name"] for v in before["vms"] if v["status"] == "up")
            t0 = time.perf_counter()
            run = run_playbook(sim, PLAYBOOK, extra_vars=dict({"rolling_patch_poll_interval": 1}, **extra_vars),
                               timeout=3600)
            wall = time.perf_counter() - t0
            if run.rc != 0:
                sys.stderr.write(run.stdout[-4000:])
                raise SystemExit("%s: ansible-playbook failed (rc=%s)" % (label, run.rc))
            after = sim.state()
            plan = run.results("Plan the roll")[0]
            needed = host_seconds(sim, plan["batches"], sim.tunables()) * time_scale
            return {"run": label, "batches": len(plan["batches"]), "batch_size": plan["batch_size"],
                    "wall_s": wall, "hosts_needed_s": needed, "overhead_s": wall - needed,
                    "api_requests": len(run.api_requests()), "mutating": len(run.mutating()),
                    "capacity_violations": len(violations(before, sim.history(mark))),
                    "hosts_left": len([h for h in after["hosts"] if h["update_available"] or h["status"] != "up"]),
                    "vms_lost": len(running - set(v["name"] for v in after["vms"] if v["status"] == "up"))}
    finally:
        shutil.rmtree(state, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-scale", type=float, default=0.05,
                    help="real seconds per simulated second (0.05: a 180 s reboot takes 9 s; a real host's "
                         "patch cycle is 10-20 minutes, so the simulator's is still 20-40 times shorter)")
    args = ap.parse_args(argv)
    rows = [roll("serial (batch 1)", args.time_scale, {"rolling_patch_max_batch": 1}),
            roll("planned", args.time_scale, {})]
    serial, planned = rows
    ratio = serial["wall_s"] / planned["wall_s"]
    table("Rolling patch, seed 'patch' (12 hosts, 240 VMs), time scale %g" % args.time_scale, rows,
          ["run", "batches", "batch_size", "wall_s", "hosts_needed_s", "overhead_s", "api_requests", "mutating",
           "capacity_violations", "hosts_left", "vms_lost"])
    print("\nplanned is %.2fx faster than serial (target >= %.1fx); API requests %d vs %d"
          % (ratio, TARGET_RATIO, planned["api_requests"], serial["api_requests"]))
    missed = []
    if ratio < TARGET_RATIO:
        missed.append("ratio")
    for r in rows:
        for k in ("capacity_violations", "hosts_left", "vms_lost"):
            if r[k]:
                missed.append("%s: %s" % (r["run"], k))
    return finish("patch", {"time_scale": args.time_scale, "target_ratio": TARGET_RATIO, "ratio": ratio,
                            "runs": rows}, missed)


if __name__ == "__main__":
    sys.exit(main())
