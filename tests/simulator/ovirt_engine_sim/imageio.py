# SPDX-License-Identifier: GPL-3.0-or-later
"""A real ovirt-imageio daemon for image transfers, run unprivileged beside the simulator.

The daemon (PyPI ``ovirt-imageio``, the code vdsm runs on every host) serves ``https://127.0.0.1:<port>/images/
<ticket>`` with TLS from a certificate the simulator's CA issues, so the ``ca.pem`` clients already trust verifies
it. The simulator drives it as vdsm does: tickets through the control socket (HTTP over a unix socket), NBD exports
by ``qemu-nbd`` processes on unix sockets (read-only for downloads, writable for uploads, ``-B bitmap`` for
incremental backups), or ``file://`` URLs for the file backend (``format=cow``). Everything runs from
``<state-dir>/imageio`` (a short directory under /tmp holds the sockets when the state dir is too long for AF_UNIX);
the pids are recorded in ``pids.json`` so a simulator killed with SIGKILL leaves nothing running after its next
start.

``Relay`` is the ``transfer_interrupted`` fault: a TCP relay in front of the daemon (TLS passes through untouched)
that closes both sides once N bytes went to the client."""

import http.client
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import trustme

SOCK_MAX = 100          # AF_UNIX path limit is 107 bytes; keep room


class ImageioError(RuntimeError):
    pass


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def _alive(pid, marker):
    """Whether ``pid`` runs and its command line mentions ``marker`` (a recycled pid is left alone)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return marker.encode() in f.read()
    except OSError:
        return False


def _kill(pid, marker, grace=3.0):
    if not _alive(pid, marker):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid, marker):
        time.sleep(0.05)
    if _alive(pid, marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


class Daemon:
    """One ovirt-imageio daemon and the qemu-nbd exports behind its tickets."""

    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.base = os.path.join(state_dir, "imageio")
        self.proc = None
        self.port = None
        self.nbd = {}               # transfer id -> (Popen, socket path)
        self.relays = {}            # transfer id -> Relay
        self.lock = threading.Lock()
        self.run_dir = None

    # -- files -----------------------------------------------------------------------------------
    def _pids_path(self):
        return os.path.join(self.base, "pids.json")

    def _save_pids(self):
        pids = {"daemon": self.proc.pid if self.proc else None, "run_dir": self.run_dir,
                "nbd": {tid: [p.pid, sock] for tid, (p, sock) in self.nbd.items()}}
        tmp = self._pids_path() + ".tmp"
        with open(tmp, "w") as f:
            json.dump(pids, f)
        os.replace(tmp, self._pids_path())

    def reap_leftovers(self):
        """Stop what a previous simulator process on this state dir left running (it was killed)."""
        try:
            with open(self._pids_path()) as f:
                pids = json.load(f)
        except (OSError, ValueError):
            return []
        killed = []
        conf = os.path.join(self.base, "conf")
        if pids.get("daemon") and _alive(pids["daemon"], conf):
            _kill(pids["daemon"], conf)
            killed.append(pids["daemon"])
        for pid, sock in (pids.get("nbd") or {}).values():
            if _alive(pid, sock):
                _kill(pid, sock)
                killed.append(pid)
        run_dir = pids.get("run_dir")
        if run_dir and run_dir.startswith(tempfile.gettempdir()) and os.path.basename(run_dir).startswith("sim-iio"):
            shutil.rmtree(run_dir, ignore_errors=True)
        os.remove(self._pids_path())
        return killed

    def _write_config(self):
        conf = os.path.join(self.base, "conf")
        os.makedirs(os.path.join(conf, "conf.d"), exist_ok=True)
        run_dir = os.path.join(self.base, "run")
        if len(os.path.join(run_dir, "nbd", "x" * 36 + ".sock")) > SOCK_MAX:
            run_dir = tempfile.mkdtemp(prefix="sim-iio-")
        os.makedirs(os.path.join(run_dir, "nbd"), exist_ok=True)
        self.run_dir = run_dir
        self.control_socket = os.path.join(run_dir, "control.sock")
        cert, key = self._issue_cert()
        self.log_file = os.path.join(self.base, "daemon.log")
        text = """[daemon]
run_dir = {run}
drop_privileges = false
systemd_enable = false
poll_interval = 0.2

[tls]
enable = true
key_file = {key}
cert_file = {cert}
ca_file =

[remote]
host = 127.0.0.1
port = 0

[local]
enable = false

[control]
transport = unix
socket = {sock}
remove_timeout = 5

[profile]
filename = {run}/profile

[handler_logfile]
args = ("{log}",)
kwargs = {{"maxBytes": 20971520, "backupCount": 1}}
level = DEBUG

[logger_root]
level = INFO
""".format(run=run_dir, key=key, cert=cert, sock=self.control_socket, log=self.log_file)
        with open(os.path.join(conf, "conf.d", "50-sim.conf"), "w") as f:
            f.write(text)
        return conf

    def _issue_cert(self):
        cert = os.path.join(self.base, "server.pem")
        key = os.path.join(self.base, "server.key")
        if not (os.path.exists(cert) and os.path.exists(key)):
            with open(os.path.join(self.state_dir, "ca.pem"), "rb") as c, \
                    open(os.path.join(self.state_dir, "ca.key"), "rb") as k:
                ca = trustme.CA.from_pem(c.read(), k.read())
            leaf = ca.issue_cert("127.0.0.1", "localhost", "::1", common_name="ovirt-imageio-sim")
            fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(leaf.private_key_pem.bytes())
            with open(cert, "wb") as f:
                f.write(b"".join(p.bytes() for p in leaf.cert_chain_pems))
        return cert, key

    # -- lifecycle -------------------------------------------------------------------------------
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=30.0):
        if self.running():
            return
        if importlib.util.find_spec("ovirt_imageio") is None:
            raise ImageioError("the ovirt-imageio package is not installed (pip install 'ovirt-engine-sim[imageio]')")
        if shutil.which("qemu-nbd") is None:
            raise ImageioError("qemu-nbd is not installed (it comes with qemu-utils)")
        os.makedirs(self.base, exist_ok=True)
        self.reap_leftovers()
        conf = self._write_config()
        if os.path.exists(self.control_socket):
            os.remove(self.control_socket)
        offset = os.path.getsize(self.log_file) if os.path.exists(self.log_file) else 0
        cmd = [sys.executable, "-c", "from ovirt_imageio._internal.server import main; main()", "--conf-dir", conf]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.base, "daemon.stderr"), "ab"),
                                     start_new_session=True)
        self._save_pids()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self._log_since(offset)
            port = re.search(r"remote\.service listening on \('[^']*', (\d+)", text)
            if port and "Ready for requests" in text and os.path.exists(self.control_socket):
                self.port = int(port.group(1))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        tail = self._log_since(offset)[-3000:]
        self.stop()
        raise ImageioError("ovirt-imageio did not start: %s" % (tail or "no log"))

    def _log_since(self, offset):
        try:
            with open(self.log_file, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        with self.lock:
            for tid in list(self.relays):
                self.relays.pop(tid).close()
            for tid in list(self.nbd):
                self._stop_nbd(tid)
            if self.proc is not None:
                if self.proc.poll() is None:
                    self.proc.terminate()
                    try:
                        self.proc.wait(5)
                    except subprocess.TimeoutExpired:
                        self.proc.kill()
                        self.proc.wait()
                self.proc = None
            self.port = None
            if self.run_dir and not self.run_dir.startswith(self.base):
                shutil.rmtree(self.run_dir, ignore_errors=True)
            if os.path.exists(self._pids_path()):
                os.remove(self._pids_path())

    # -- control socket --------------------------------------------------------------------------
    def _request(self, method, uri, body=None):
        con = _UnixConnection(self.control_socket)
        try:
            con.request(method, uri, body=json.dumps(body).encode() if body is not None else None)
            resp = con.getresponse()
            return resp.status, resp.read().decode(errors="replace")
        finally:
            con.close()

    def add_ticket(self, ticket):
        status, body = self._request("PUT", "/tickets/%s" % ticket["uuid"], ticket)
        if status != 200:
            raise ImageioError("adding ticket failed: %s %s" % (status, body))

    def get_ticket(self, ticket_id):
        """The daemon's view of a ticket, or None when it has no such ticket (or does not run)."""
        if not self.running():
            return None
        try:
            status, body = self._request("GET", "/tickets/%s" % ticket_id)
        except OSError:
            return None
        return json.loads(body) if status == 200 else None

    def extend_ticket(self, ticket_id, timeout):
        status, body = self._request("PATCH", "/tickets/%s" % ticket_id, {"timeout": int(timeout)})
        if status != 200:
            raise ImageioError("extending ticket failed: %s %s" % (status, body))

    def remove_ticket(self, ticket_id):
        """DELETE the ticket; False while connections still use it (the daemon answers 409 after its
        remove_timeout), so the caller retries, as the Engine does."""
        if not self.running():
            return True
        try:
            status, body = self._request("DELETE", "/tickets/%s" % ticket_id)
        except OSError:
            return not self.running()
        return status == 204

    # -- NBD exports -----------------------------------------------------------------------------
    def start_nbd(self, tid, path, fmt, readonly, bitmap=None, shallow=False, timeout=10.0):
        """Export ``path`` with qemu-nbd on a unix socket; return the ticket URL ``nbd:unix:<socket>``."""
        sock = os.path.join(self.run_dir, "nbd", "%s.sock" % tid)
        if os.path.exists(sock):
            os.remove(sock)
        if shallow and fmt == "qcow2":
            image = "json:" + json.dumps({"driver": "qcow2", "backing": None,
                                          "file": {"driver": "file", "filename": path}})
        else:
            image = path
        cmd = ["qemu-nbd", "--socket", sock, "--persistent", "--shared", "8", "--allocation-depth",
               "--cache", "writeback", "--discard", "unmap", "--detect-zeroes", "unmap"]
        if not image.startswith("json:"):
            cmd += ["--format", fmt]
        if readonly:
            cmd.append("--read-only")
        if bitmap:
            cmd += ["--bitmap", bitmap]
        cmd.append(image)
        errlog = os.path.join(self.base, "qemu-nbd.log")
        with self.lock:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=open(errlog, "ab"), start_new_session=True)
            self.nbd[tid] = (proc, sock)
            self._save_pids()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(sock):
                return "nbd:unix:%s" % sock
            if proc.poll() is not None:
                break
            time.sleep(0.01)
        with self.lock:
            self._stop_nbd(tid)
        with open(errlog, "rb") as f:
            tail = f.read()[-1000:].decode(errors="replace")
        raise ImageioError("qemu-nbd did not start: %s" % tail.strip())

    def stop_nbd(self, tid):
        with self.lock:
            self._stop_nbd(tid)

    def _stop_nbd(self, tid):
        entry = self.nbd.pop(tid, None)
        if entry is None:
            return
        proc, sock = entry
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if os.path.exists(sock):
            os.remove(sock)
        if self.proc is not None:
            self._save_pids()

    # -- relays (fault transfer_interrupted) -------------------------------------------------------
    def start_relay(self, tid, after_bytes):
        relay = Relay(("127.0.0.1", self.port), int(after_bytes))
        with self.lock:
            self.relays[tid] = relay
        return relay.port

    def stop_relay(self, tid):
        with self.lock:
            relay = self.relays.pop(tid, None)
        if relay is not None:
            relay.close()


class Relay:
    """Accept on 127.0.0.1:0, forward to ``target``; after ``after_bytes`` went from the daemon to the client
    (summed over every connection), close both sides and refuse what comes next."""

    def __init__(self, target, after_bytes):
        self.target = target
        self.after = after_bytes
        self.sent = 0
        self.tripped = False
        self.closed = False
        self.lock = threading.Lock()
        self.pairs = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, dummy = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if self.tripped or self.closed:
                    _close(client)
                    continue
            try:
                upstream = socket.create_connection(self.target, timeout=10)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self.lock:
                self.pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, src, dst, to_client):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if to_client:
                    with self.lock:
                        room = self.after - self.sent
                        if room <= 0:
                            self._trip()
                            return
                        data = data[:room]
                        self.sent += len(data)
                    dst.sendall(data)
                    if self.sent >= self.after:
                        with self.lock:
                            self._trip()
                        return
                else:
                    dst.sendall(data)
        except OSError:
            pass
        finally:
            _shut(dst)

    def _trip(self):
        self.tripped = True
        for a, b in self.pairs:
            _close(a)
            _close(b)
        self.pairs = []

    def close(self):
        self.closed = True
        _close(self.listener)
        with self.lock:
            self._trip()


def _shut(sock):
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
