# SPDX-License-Identifier: GPL-3.0-or-later
"""Run real ``ansible-playbook`` against a simulator and read back what happened."""

import json
import os
import subprocess
import tempfile

import yaml

from tests.support.collection import REPO, ansible_env

ANSIBLE_PLAYBOOK = os.path.join(REPO, ".venv", "bin", "ansible-playbook")


class PlaybookRun:
    def __init__(self, proc, data, requests):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.data = data
        self.requests = requests          # simulator request log entries made during the run

    @property
    def stats(self):
        return (self.data or {}).get("stats", {}).get("localhost", {})

    @property
    def changed(self):
        return self.stats.get("changed", 0)

    @property
    def failed(self):
        return self.stats.get("failures", 0)

    def results(self, task_name, host="localhost"):
        """Every result of the task(s) with this name on ``host``, loop items flattened."""
        out = []
        for play in (self.data or {}).get("plays", []):
            for task in play.get("tasks", []):
                name = task["task"]["name"]
                if name == task_name or name.endswith(" : " + task_name):
                    res = task["hosts"].get(host, {})
                    out.extend(res.get("results", [res]))
        return out

    def mutating(self):
        return [r for r in self.requests if r["path"].startswith("/ovirt-engine/api")
                and r["method"] in ("POST", "PUT", "DELETE")]

    def api_requests(self):
        return [r for r in self.requests if r["path"].startswith("/ovirt-engine/api")]


def write_playbook(tmpdir, plays):
    path = os.path.join(str(tmpdir), "playbook-%d.yml" % len(os.listdir(str(tmpdir))))
    with open(path, "w") as f:
        yaml.safe_dump(plays, f, sort_keys=False)
    return path


def run_playbook(sim, playbook, extra_vars=None, check=False, diff=False, verbosity=0, callback="json",
                 env=None, timeout=900, extra_args=()):
    """``playbook`` is a path or a list of plays (written to a temporary file). ``sim`` None: a play that talks
    to no Engine (no request log)."""
    tmp = None
    if not isinstance(playbook, str):
        tmp = tempfile.mkdtemp(prefix="pb-")
        playbook = write_playbook(tmp, playbook)
    cmd = [ANSIBLE_PLAYBOOK, playbook, "-i", "localhost,", "-c", "local"]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    cmd += list(extra_args)
    e = ansible_env(sim, env)
    if callback == "json":
        e["ANSIBLE_CALLBACK_PLUGINS"] = os.pathsep.join(filter(None, [
            os.path.join(REPO, "tests", "support", "callback_plugins"), (env or {}).get("ANSIBLE_CALLBACK_PLUGINS")]))
        e["ANSIBLE_STDOUT_CALLBACK"] = "test_json"
    since = (sim.requests()[-1]["seq"] if sim.requests() else 0) if sim is not None else None
    proc = subprocess.run(cmd, env=e, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          check=False)
    data = None
    if callback == "json":
        try:
            data = json.loads(proc.stdout[proc.stdout.index("{"):])
        except ValueError:
            data = None
    requests = sim.requests(since) if sim is not None else []
    return PlaybookRun(proc, data, requests)
