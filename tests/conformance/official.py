# SPDX-License-Identifier: GPL-3.0-or-later
"""Run playbooks written for the official ``ovirt.ovirt`` collection (as published in PyPI's ``ansible``
package) against a simulator, and count their operations.

    python tests/conformance/official.py official/vm.yml [--seed patch] [--keep DIR] [-v]

A playbook's operations are its tasks named ``op: …``; each must succeed (a task that is expected to fail says so
itself, with ``failed_when``). The playbooks log in with ``ovirt_auth`` from the ``OVIRT_*`` variables, as the
official collection's users do, and take the simulator's admin URL as ``sim_admin_url`` (for faults and the clock).
"""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CALLBACKS = os.path.join(REPO, "tests", "support", "callback_plugins")
OP_PREFIX = "op:"


def playbook_env(sim, collections):
    """The test suite's ansible-playbook environment, with the official collections instead of this one."""
    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    from tests.support.collection import ansible_env
    return ansible_env(sim, {
        "ANSIBLE_COLLECTIONS_PATH": collections,
        "ANSIBLE_STDOUT_CALLBACK": "test_json",
        "ANSIBLE_CALLBACK_PLUGINS": CALLBACKS,
        "ANSIBLE_DEPRECATION_WARNINGS": "false",
        "ANSIBLE_HOME": os.path.join(sim.state_dir, "ansible-home"),
    })


def operations(data):
    """Every ``op:`` task of a test_json document: name, ok, seconds, message."""
    ops = []
    for play in (data or {}).get("plays", []):
        for task in play.get("tasks", []):
            name = task["task"]["name"]
            if not name.startswith(OP_PREFIX):
                continue
            res = task["hosts"].get("localhost", {})
            ok = bool(res) and not res.get("failed") and not res.get("unreachable")
            msg = None if ok else (res.get("msg") or res.get("exception") or "did not run")
            ops.append({"name": name[len(OP_PREFIX):].strip(), "ok": ok, "changed": bool(res.get("changed")),
                        "seconds": task["task"].get("seconds"), "message": str(msg)[-600:] if msg else None})
    return ops


def declared_operations(playbook):
    """The ``op:`` task names a playbook declares (so operations that never ran still count as tried)."""
    import yaml

    names = []

    def walk(tasks):
        for t in tasks or []:
            if not isinstance(t, dict):
                continue
            if str(t.get("name", "")).startswith(OP_PREFIX):
                names.append(t["name"][len(OP_PREFIX):].strip())
            for key in ("block", "rescue", "always"):
                walk(t.get(key))
    with open(playbook) as f:
        for play in yaml.safe_load(f) or []:
            for key in ("pre_tasks", "tasks", "post_tasks"):
                walk(play.get(key))
    return names


def two_sites(primary, secondary):
    """Extra variables of a two-site playbook (``# second_seed:``): both simulators' state directories (where
    replicas land) and the secondary's connection and admin URL (the primary is the ``OVIRT_*`` one)."""
    return {"primary_state_dir": primary.state_dir, "secondary_state_dir": secondary.state_dir,
            "secondary": dict(secondary.auth(), admin_url=secondary.admin_url)}


def run(sim, collections, playbook, extra_vars=None, timeout=900, verbosity=0):
    cmd = [os.path.join(REPO, ".venv", "bin", "ansible-playbook"), playbook, "-i", "localhost,", "-c", "local",
           "-e", json.dumps(dict(extra_vars or {}, sim_admin_url=sim.admin_url))]
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    started = time.monotonic()
    proc = subprocess.run(cmd, env=playbook_env(sim, collections), capture_output=True, text=True,
                          timeout=timeout, check=False, cwd=os.path.dirname(playbook))
    data = None
    for line in proc.stdout.splitlines():
        if line.startswith('{"plays"'):
            data = json.loads(line)
    ran = operations(data)
    seen = set(o["name"] for o in ran)
    ran += [{"name": n, "ok": False, "changed": False, "seconds": None, "message": "did not run"}
            for n in declared_operations(playbook) if n not in seen]
    return {"playbook": os.path.basename(playbook), "rc": proc.returncode, "operations": ran,
            "seconds": round(time.monotonic() - started, 1),
            "stderr": proc.stderr[-3000:], "stdout": "" if data else proc.stdout[-3000:]}


def main(argv=None):
    import argparse
    import tempfile

    sys.path.insert(0, os.path.dirname(HERE))
    from conformance import published  # noqa: E402
    from ovirt_engine_sim.testing import start_simulator

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("playbook")
    p.add_argument("--seed", default="default")
    p.add_argument("--second-seed", help="start a second simulator (two sites: dr.yml uses dr-secondary)")
    p.add_argument("--time-scale", type=float, default=0.01)
    p.add_argument("--keep", help="simulator state directory to keep")
    p.add_argument("-v", action="count", default=0)
    args = p.parse_args(argv)
    collections = published.official_collections()
    state = args.keep or tempfile.mkdtemp(prefix="official-")
    with start_simulator(os.path.join(state, "primary"), seed=args.seed, time_scale=args.time_scale) as sim:
        if args.second_seed:
            with start_simulator(os.path.join(state, "secondary"), seed=args.second_seed,
                                 time_scale=args.time_scale) as other:
                res = run(sim, collections, os.path.abspath(args.playbook), extra_vars=two_sites(sim, other),
                          verbosity=args.v)
        else:
            res = run(sim, collections, os.path.abspath(args.playbook), verbosity=args.v)
    for op in res["operations"]:
        print("%-4s %-60s %s" % ("ok" if op["ok"] else "FAIL", op["name"], op["message"] or ""))
    print("rc=%s, %d/%d operations passed in %.1fs" % (res["rc"], sum(o["ok"] for o in res["operations"]),
                                                       len(res["operations"]), res["seconds"]))
    if res["rc"] and not any(not o["ok"] for o in res["operations"]):
        print(res["stderr"] or res["stdout"])
    return 0 if res["rc"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
