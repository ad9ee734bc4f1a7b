# SPDX-License-Identifier: GPL-3.0-or-later
"""Start a simulator in a subprocess and drive its admin API: for pytest suites, demos and users' CI.

    from ovirt_engine_sim.testing import start_simulator
    with start_simulator("/tmp/state", time_scale=0.01) as sim:
        conn = sim.connection()
        ...
        assert not sim.mutating_requests()
"""

import base64
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request

MUTATING = ("POST", "PUT", "DELETE")


class AdminError(RuntimeError):
    pass


def poll(fetch, predicate, timeout=30.0, interval=0.05):
    """Call ``fetch()`` until ``predicate(value)`` holds, the way SDK clients wait; return the value.

    Raises ``AssertionError`` with the last value once ``timeout`` real seconds have passed."""
    deadline = time.monotonic() + timeout
    value = fetch()
    while not predicate(value):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within %ss; last value: %r" % (timeout, value))
        time.sleep(interval)
        value = fetch()
    return value


def wait_status(service, status, timeout=30.0):
    """Wait until an SDK service's ``get().status`` is ``status``; return the object."""
    return poll(service.get, lambda obj: obj.status == status, timeout)


class RunningSimulator:
    def __init__(self, proc, info, state_dir):
        self.process = proc
        self.state_dir = state_dir
        self.info = info
        self.url = info["url"]
        self.ca_file = info["ca_file"]
        self.username = info["username"]
        self.password = info["password"]
        self.admin_url = info["admin_url"]
        self._ctx = ssl.create_default_context(cafile=self.ca_file)
        self._auth = "Basic " + base64.b64encode(("%s:%s" % (self.username, self.password)).encode()).decode()

    # -- admin API -----------------------------------------------------------------------------
    def admin(self, method, path, body=None, query=None):
        url = self.admin_url + "/" + path.lstrip("/")
        if query:
            url += "?" + "&".join("%s=%s" % kv for kv in query.items())
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Authorization": self._auth, "Content-Type": "application/json"})
        # A read is asked again when the connection closes without an answer (the checksum endpoint's qemu-nbd once
        # took over 10 s to start under heavy load, and the server dropped the connection instead of answering 500;
        # both are mended, this stays for a simulator restarting under a test); nothing else is.
        attempts = 3 if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            try:
                with urllib.request.urlopen(req, context=self._ctx, timeout=60) as resp:
                    return json.loads(resp.read() or b"null")
            except urllib.error.HTTPError as exc:
                raise AdminError("%s %s -> %s: %s" % (method, path, exc.code, exc.read().decode(errors="replace")))
            except (http.client.RemoteDisconnected, ConnectionResetError):
                if attempt == attempts:
                    raise
                time.sleep(0.5 * attempt)

    def requests(self, since=0):
        return self.admin("GET", "requests", query={"since": since} if since else None)

    def api_requests(self, since=0):
        return [r for r in self.requests(since) if r["path"].startswith("/ovirt-engine/api")]

    def mutating_requests(self, since=0):
        """POST/PUT/DELETE sent to the REST API (SSO log-ins and log-outs are not mutations)."""
        return [r for r in self.api_requests(since) if r["method"] in MUTATING]

    def reset_requests(self):
        return self.admin("DELETE", "requests")

    def inject(self, fault):
        return self.admin("POST", "faults", fault)

    def clear_faults(self):
        return self.admin("DELETE", "faults")

    def advance(self, seconds):
        return self.admin("POST", "clock", {"advance": seconds})

    def set_clock(self, **kw):
        return self.admin("POST", "clock", kw)

    def tunables(self, **kw):
        return self.admin("POST", "tunables", kw) if kw else self.admin("GET", "tunables")

    def state(self):
        return self.admin("GET", "state")

    def history(self, since=0):
        return self.admin("GET", "history", query={"since": since})

    # -- clients ---------------------------------------------------------------------------------
    def connection(self, **kw):
        import ovirtsdk4
        args = dict(url=self.url, username=self.username, password=self.password, ca_file=self.ca_file)
        args.update(kw)
        return ovirtsdk4.Connection(**args)

    def env(self):
        """The OVIRT_* variables AWX injects, pointing at this simulator."""
        return {"OVIRT_URL": self.url, "OVIRT_USERNAME": self.username, "OVIRT_PASSWORD": self.password,
                "OVIRT_CAFILE": self.ca_file}

    def auth(self):
        return {"url": self.url, "username": self.username, "password": self.password, "ca_file": self.ca_file}

    # -- lifecycle -------------------------------------------------------------------------------
    def stop(self, timeout=20):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_simulator(state_dir, seed="default", time_scale=0.01, clock="free", listen="127.0.0.1:0",
                    password=None, startup_timeout=120, extra_args=()):
    """Start ``ovirt-engine-sim`` and return a :class:`RunningSimulator` once it accepts requests."""
    os.makedirs(state_dir, exist_ok=True)
    cmd = [sys.executable, "-m", "ovirt_engine_sim.cli", "--listen", listen, "--state-dir", state_dir,
           "--seed", seed, "--time-scale", str(time_scale), "--clock", clock] + list(extra_args)
    env = dict(os.environ)
    if password:
        env["OVIRT_SIM_PASSWORD"] = password
    log = open(os.path.join(state_dir, "sim.log"), "ab")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, env=env)
    log.close()
    deadline = time.monotonic() + startup_timeout
    line = b""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line or proc.poll() is not None:
            break
    if not line:
        proc.kill()
        with open(os.path.join(state_dir, "sim.log"), "rb") as f:
            tail = f.read()[-3000:].decode(errors="replace")
        raise RuntimeError("ovirt-engine-sim did not start (exit %s): %s" % (proc.poll(), tail))
    return RunningSimulator(proc, json.loads(line), state_dir)
