# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the SDK's published example scripts, unmodified, against a simulator, in the order and with the
verdicts of ``sdk_examples.yml``.

    python tests/conformance/sdk_examples.py [--only NAME ...] [--keep DIR]

Each script runs in a directory of its own with ``shim/`` on PYTHONPATH (its ``sitecustomize`` redirects the
SDK's ``Connection`` to the simulator) and a ``~/.config/ovirt.conf`` for the scripts that take ``-c engine``.
Arguments may name objects: ``{id:disks:mydisk}`` becomes the id of the disk called ``mydisk``,
``{id:disks:mydisk@myvm}`` the id of the disk called ``mydisk`` attached to the VM ``myvm``, ``{var:NAME}`` what a
``prepare`` step recorded (prepare.py: an id no name finds, such as an image transfer's).
"""

import os
import re
import subprocess
import sys
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOGUE = os.path.join(HERE, "sdk_examples.yml")
SHIM = os.path.join(HERE, "shim")


def load_catalogue(path=CATALOGUE):
    with open(path) as f:
        data = yaml.safe_load(f)
    entries = data["examples"]
    for e in entries:
        if ("out_of_scope" in e) == ("expect" in e):
            raise ValueError("%s: give either 'expect' (what the run shows) or 'out_of_scope' (why not)" % e["script"])
    return data, entries


class ExampleRunner:
    """Runs example scripts one by one against ``sim`` (a ``RunningSimulator``)."""

    def __init__(self, sim, examples_dir, workdir, timeout=90):
        self.sim = sim
        self.examples = examples_dir
        self.workdir = workdir
        self.timeout = timeout
        self.home = os.path.join(workdir, "home")
        os.makedirs(os.path.join(self.home, ".config"), exist_ok=True)
        base = sim.url.rsplit("/ovirt-engine/api", 1)[0]
        with open(os.path.join(self.home, ".config", "ovirt.conf"), "w") as f:
            f.write("[engine]\nengine_url = %s\nusername = %s\npassword = %s\ncafile = %s\n" % (
                base, sim.username, sim.password, sim.ca_file))
        self._conn = None
        self.vars = {}          # set by prepare steps, used as {var:NAME} in arguments

    def connection(self):
        if self._conn is None:
            self._conn = self.sim.connection()
        return self._conn

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _expand(self, arg):
        def lookup(m):
            coll, name = m.group(1), m.group(2)
            system = self.connection().system_service()
            # ``{id:disks:NAME@VM}``: the disk called NAME attached to the VM called VM (the Engine allows
            # several disks with one alias)
            name, dummy, vm_name = name.partition("@")
            if vm_name:
                vms = system.vms_service()
                vm = vms.list(search="name=%s" % vm_name)[0]
                atts = vms.vm_service(vm.id).disk_attachments_service().list()
                found = [system.disks_service().disk_service(a.disk.id).get() for a in atts]
                found = [d for d in found if d.alias == name]
            else:
                service = getattr(system, "%s_service" % coll)()
                found = [o for o in service.list() if (getattr(o, "name", None) or getattr(o, "alias", None)) == name]
            if len(found) != 1:
                raise LookupError("argument %s: %d %s named %s" % (arg, len(found), coll, name))
            return found[0].id
        arg = arg.replace("{url}", self.sim.url).replace("{ca_file}", self.sim.ca_file)
        arg = re.sub(r"\{var:(\w+)\}", lambda m: self.vars[m.group(1)], arg)
        return re.sub(r"\{id:(\w+):([^}]+)\}", lookup, arg)

    def run(self, entry):
        """Run one catalogue entry; return a result dict (``ok``, ``seconds``, ``output``, ``problem``)."""
        script = entry["script"]
        cwd = os.path.join(self.workdir, "run", script[:-3])
        os.makedirs(cwd, exist_ok=True)
        env = dict(os.environ, HOME=self.home, PYTHONPATH=SHIM, CONFORMANCE_URL=self.sim.url,
                   CONFORMANCE_USERNAME=self.sim.username, CONFORMANCE_PASSWORD=self.sim.password,
                   CONFORMANCE_CAFILE=self.sim.ca_file, PYTHONDONTWRITEBYTECODE="1")
        started = time.monotonic()
        try:
            argv = [self._expand(a) for a in entry.get("args", [])]
        except LookupError as exc:
            return {"script": script, "ok": False, "seconds": 0.0, "output": "", "problem": str(exc)}
        # ``runs_until_stopped: S``: the script is a daemon that polls forever by design (poll_events.py); it is
        # stopped after S seconds and judged by what it printed until then.
        until_stopped = entry.get("runs_until_stopped")
        if until_stopped:
            env["PYTHONUNBUFFERED"] = "1"
        try:
            proc = subprocess.run([sys.executable, os.path.join(self.examples, script)] + argv, cwd=cwd, env=env,
                                  input=entry.get("stdin", ""), capture_output=True, text=True,
                                  timeout=until_stopped or self.timeout, check=False)
            out, rc = proc.stdout + proc.stderr, proc.returncode
            if until_stopped:
                out, rc = out + "\n[ended by itself before it was stopped]", None
        except subprocess.TimeoutExpired as exc:
            out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            if until_stopped:
                rc = 0
            else:
                out, rc = out + "\n[timed out after %ss]" % self.timeout, None
        seconds = round(time.monotonic() - started, 2)
        problem = None
        if rc != 0:
            problem = "exit %s" % rc
        else:
            for pattern in entry.get("expect", []) or []:
                if not re.search(pattern, out, re.M):
                    problem = "output lacks /%s/" % pattern
                    break
        return {"script": script, "ok": problem is None, "seconds": seconds, "output": out[-4000:],
                "problem": problem}


def main(argv=None):
    import argparse
    import tempfile

    sys.path.insert(0, os.path.dirname(HERE))
    from conformance import published, prepare  # noqa: E402 - run as a script from the checkout
    from ovirt_engine_sim.testing import start_simulator

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="*", help="run just these scripts (their prerequisites still run)")
    p.add_argument("--all", action="store_true", help="also try the out-of-scope ones")
    p.add_argument("--keep", help="work directory to keep (default: a temporary one)")
    args = p.parse_args(argv)
    data, entries = load_catalogue()
    workdir = args.keep or tempfile.mkdtemp(prefix="sdk-examples-")
    examples = published.sdk_examples()
    with start_simulator(os.path.join(workdir, "engine"), seed=data.get("seed", "default"),
                         time_scale=float(data.get("time_scale", 0.01))) as sim:
        runner = ExampleRunner(sim, examples, workdir)
        for entry in entries:
            if "out_of_scope" in entry and not args.all:
                continue
            if args.only and entry["script"] not in args.only and not entry.get("prerequisite"):
                continue
            prepare.before(runner, entry)
            res = runner.run(entry)
            print("%-4s %-40s %6.1fs %s" % ("ok" if res["ok"] else "FAIL", entry["script"], res["seconds"],
                                            res["problem"] or ""))
            if not res["ok"]:
                print("     " + res["output"].strip().replace("\n", "\n     ")[-1500:])
        runner.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
