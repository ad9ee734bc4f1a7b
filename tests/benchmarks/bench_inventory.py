# SPDX-License-Identifier: GPL-3.0-or-later
"""The inventory plugin sre.ovirt.engine on the simulator's ``large`` seed (10,000 VMs, 200 hosts) through
``ansible-inventory --list``: Engine API requests (target: bounded, <= 10 in one list, <= 16 in pages of 1,000),
wall time of ``--graph`` and ``--list`` (target < 90 s, most of it ansible-core's own work for 10,200 hosts) and of
the plugin's requests and parsing alone (target < 20 s), the ansible-inventory process's peak RSS (target < 1 GiB);
then the same with the cache (target: zero requests).

    .venv/bin/python tests/benchmarks/bench_inventory.py [--seed large]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tests", "simulator"))
from _common import finish, table  # noqa: E402
from ovirt_engine_sim.testing import start_simulator  # noqa: E402
from tests.support.collection import ansible_env, collections_path  # noqa: E402

ANSIBLE_INVENTORY = os.path.join(REPO, ".venv", "bin", "ansible-inventory")
# ansible-inventory's own work (adding 10,200 hosts with their variables, printing them) is most of its time: the
# plugin's requests and parsing ("fetch only") are the part the plugin answers for.
TARGETS = {"seconds": 90.0, "peak_rss_mib": 1024.0, "fetch_seconds": 20.0}
CACHE = "cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {cache}\n"
CASES = [
    # name, extra configuration, ansible-inventory option, most API requests (SSO log-in and log-out not counted)
    ("one list", "", "--graph", 10),
    ("one list", "", "--list", 10),
    ("pages of 1000", "vm_page_size: 1000\n", "--graph", 16),
    ("cached", CACHE, "--graph", 0),
    ("cached", CACHE, "--list", 0),
]


def run(sim, path, mode="--list"):
    """ansible-inventory --list or --graph: (seconds, peak RSS MiB, hosts, API requests, SSO requests)."""
    since = sim.requests()[-1]["seq"] if sim.requests() else 0
    env = ansible_env(sim, {"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"})
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([ANSIBLE_INVENTORY, "-i", path, mode], env=env, cwd=REPO, stdout=out,
                                stderr=subprocess.PIPE)
        status, usage = os.wait4(proc.pid, 0)[1:]
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - t0
        err = proc.stderr.read().decode(errors="replace")
        if proc.returncode != 0:
            raise SystemExit("ansible-inventory failed: %s" % err[-2000:])
        out.seek(0)
        if mode == "--list":
            hosts = len(json.load(out)["_meta"]["hostvars"])
        else:
            hosts = len(set(line.strip().lstrip("|-") for line in out.read().decode().splitlines()
                            if not line.strip().lstrip("|-").startswith("@")))
    requests = sim.requests(since)
    api = [r for r in requests if r["path"].startswith("/ovirt-engine/api")]
    return seconds, usage.ru_maxrss / 1024.0, hosts, len(api), len(requests) - len(api)


def fetch_only(sim):
    """The plugin's own part, in this process: the requests and the parsing into records (no Ansible inventory)."""
    sys.path.insert(0, collections_path())
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import EngineClient, EngineSettings
    from ansible_collections.sre.ovirt.plugins.module_utils.inventory import collect
    client = EngineClient(EngineSettings.from_auth(sim.auth()))
    since = sim.requests()[-1]["seq"] if sim.requests() else 0
    t0 = time.perf_counter()
    try:
        data = collect.fetch(client)
    finally:
        client.close()
    seconds = time.perf_counter() - t0
    requests = sim.requests(since)
    api = [r for r in requests if r["path"].startswith("/ovirt-engine/api")]
    return {"case": "fetch only", "output": "records", "seconds": seconds, "api_requests": len(api),
            "sso_requests": len(requests) - len(api), "inventory_hosts": len(data["vms"]) + len(data["hosts"])}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", default="large")
    args = ap.parse_args(argv)
    state = tempfile.mkdtemp(prefix="bench-inventory-")
    rows = []
    missed = []
    try:
        t0 = time.perf_counter()
        with start_simulator(os.path.join(state, "engine"), seed=args.seed, time_scale=0.01,
                             startup_timeout=600) as sim:
            startup = time.perf_counter() - t0
            counts = sim.admin("GET", "")["counts"]
            for name, extra, mode, most in CASES:
                path = os.path.join(state, name.replace(" ", "_") + ".ovirt.yml")
                with open(path, "w") as f:
                    f.write("plugin: sre.ovirt.engine\n" + extra.format(cache=os.path.join(state, "cache")))
                if name == "cached" and mode == "--graph":
                    run(sim, path, mode)                 # fills the cache
                seconds, rss, hosts, api, sso = run(sim, path, mode)
                rows.append({"case": name, "output": mode, "seconds": seconds, "api_requests": api,
                             "sso_requests": sso, "inventory_hosts": hosts, "peak_rss_mib": rss,
                             "most_requests": most})
                if api > most or (name == "cached" and sso) or hosts != counts["vms"] + counts["hosts"]:
                    missed.append("%s %s: %d API + %d SSO requests, %d hosts" % (name, mode, api, sso, hosts))
                missed += ["%s %s: %s" % (name, mode, k) for k, v in (("seconds", seconds), ("peak_rss_mib", rss))
                           if v > TARGETS[k]]
            fetched = fetch_only(sim)
            rows.append(fetched)
            if fetched["seconds"] > TARGETS["fetch_seconds"] or fetched["api_requests"] > 10:
                missed.append("fetch only: %.1f s, %d API requests" % (fetched["seconds"], fetched["api_requests"]))
    finally:
        shutil.rmtree(state, ignore_errors=True)
    table("ansible-inventory --list with sre.ovirt.engine, seed %s (%d VMs, %d hosts; simulator start-up %.0f s)" % (
        args.seed, counts["vms"], counts["hosts"], startup), rows,
        ["case", "output", "seconds", "api_requests", "sso_requests", "inventory_hosts", "peak_rss_mib", "most_requests"])
    return finish("bench_inventory", {"seed": args.seed, "counts": counts, "targets": TARGETS,
                                      "simulator_startup_seconds": startup, "cases": rows}, missed)


if __name__ == "__main__":
    sys.exit(main())
