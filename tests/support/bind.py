# SPDX-License-Identifier: GPL-3.0-or-later
"""A real Debian ``bind9`` ``named`` on a loopback port for tests: one primary zone that accepts RFC 2136
dynamic updates signed with a TSIG key, no recursion, every file in a temporary directory.

    with BindServer(tmp_path, zone="dr.test", key_name="sre-ovirt-test") as dns:
        dns.port, dns.zone, dns.key_name, dns.key_secret, dns.key_algorithm
        dns.module_args()              # server/port/zone/key_* options for sre.ovirt.dns_record
        dns.resolve("www", "A")        # ["192.0.2.10"] (sorted rdata text; [] when there is none)
        dns.rrset("www", "A")          # the dnspython RRset (TTL included) or None
        dns.updates_received(), dns.serial()   # UPDATE requests named saw; the zone serial

``named`` runs in the foreground (``-g``) as the current user; as root it stays root (no ``-u``), which is
fine for a loopback test server whose files all sit in the temporary directory.

Tests skip only when ``named`` is not installed and ``SRE_OVIRT_REQUIRE_BIND`` is unset (``bind_skip_reason()``);
``make test`` installs Debian's bind9, so CI sets nothing and runs them.
"""

import base64
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

ALGORITHM = "hmac-sha256"


def named_binary():
    return shutil.which("named") or ("/usr/sbin/named" if os.access("/usr/sbin/named", os.X_OK) else None)


def bind_skip_reason():
    """A skip reason when ``named`` is missing and SRE_OVIRT_REQUIRE_BIND is unset, else None (the tests then
    run, and fail loudly if ``named`` is missing)."""
    if named_binary() or os.environ.get("SRE_OVIRT_REQUIRE_BIND"):
        return None
    return "named (Debian bind9) is not installed; `make test` installs it when run as root"


def free_port():
    """A loopback port free for both UDP and TCP."""
    for _attempt in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port
    raise RuntimeError("no free loopback port for named")


def tsig_secret(key_name, algorithm=ALGORITHM):
    """A fresh TSIG secret (base64) from ``tsig-keygen``, or from os.urandom when it is not installed."""
    keygen = shutil.which("tsig-keygen") or ("/usr/sbin/tsig-keygen"
                                             if os.access("/usr/sbin/tsig-keygen", os.X_OK) else None)
    if keygen:
        out = subprocess.run([keygen, "-a", algorithm, key_name], capture_output=True, text=True, check=True,
                             timeout=30).stdout
        m = re.search(r'secret\s+"([^"]+)"', out)
        if m:
            return m.group(1)
    return base64.b64encode(os.urandom(32)).decode()


class ZoneError(ValueError):
    """The zone file (``records``) does not load: retrying on another port would not help."""


class BindServer:
    """Context manager: start ``named`` with one dynamic zone, stop it and remove its files on exit."""

    server = "127.0.0.1"

    def __init__(self, tmpdir, zone="dr.test", key_name="sre-ovirt-test", key_algorithm=ALGORITHM,
                 records=(), timeout=30):
        """``records``: extra zone-file lines, e.g. ``("old 300 IN A 192.0.2.1",)``."""
        self.zone = zone.rstrip(".")
        self.key_name = key_name
        self.key_algorithm = key_algorithm
        self.key_secret = None
        self.records = list(records)
        self.timeout = timeout
        self.tmpdir = str(tmpdir)
        self.workdir = None
        self.port = None
        self.proc = None
        self.log = None

    # -- lifecycle -------------------------------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        named = named_binary()
        if not named:
            raise RuntimeError("named is not installed: install Debian's bind9 (`make test` does it as root)")
        os.makedirs(self.tmpdir, exist_ok=True)
        self.workdir = tempfile.mkdtemp(prefix="bind-", dir=self.tmpdir)
        self.key_secret = tsig_secret(self.key_name, self.key_algorithm)
        last = None
        for _attempt in range(3):            # the port picked may be taken between picking and binding
            self.port = free_port()
            conf = self._write_config()
            self.log = os.path.join(self.workdir, "named.log")
            cmd = [named, "-g", "-4", "-n", "1", "-c", conf]
            with open(self.log, "w") as log:
                self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                             cwd=self.workdir)
            try:
                self._wait_ready()
                return self
            except ZoneError:
                self.stop()
                raise
            except RuntimeError as e:
                last = e
                self._terminate()
        self.stop()
        raise last

    def stop(self):
        self._terminate()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def _terminate(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def _write_config(self):
        d = self.workdir
        zone_file = os.path.join(d, "%s.zone" % self.zone)
        with open(zone_file, "w") as f:
            f.write("\n".join([
                "$TTL 300",
                "$ORIGIN %s." % self.zone,
                "@ IN SOA ns1.%s. hostmaster.%s. 1 3600 600 86400 300" % (self.zone, self.zone),
                "@ IN NS ns1.%s." % self.zone,
                "ns1 IN A 127.0.0.1",
            ] + self.records) + "\n")
        conf = os.path.join(d, "named.conf")
        with open(conf, "w") as f:
            f.write("""key "%(key)s" {
    algorithm %(alg)s;
    secret "%(secret)s";
};
options {
    directory "%(d)s";
    listen-on port %(port)d { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    allow-query { 127.0.0.1; };
    dnssec-validation no;
    notify no;
    pid-file "%(d)s/named.pid";
    dump-file "%(d)s/named_dump.db";
    statistics-file "%(d)s/named.stats";
    session-keyfile "%(d)s/session.key";
    managed-keys-directory "%(d)s";
};
controls { };
zone "%(zone)s" {
    type primary;
    file "%(zone_file)s";
    allow-update { key "%(key)s"; };
};
""" % {"key": self.key_name, "alg": self.key_algorithm, "secret": self.key_secret, "d": d, "port": self.port,
                "zone": self.zone, "zone_file": zone_file})
        return conf

    def _wait_ready(self):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("named exited (rc %s): %s" % (self.proc.returncode, self.log_tail()))
            if "not loaded due to errors" in self.log_tail(chars=10 ** 6):
                raise ZoneError("named could not load zone %s: %s" % (self.zone, self.log_tail()))
            try:
                if self.rrset("@", "SOA", timeout=1) is not None:
                    return
            except Exception:  # pylint: disable=broad-except  # not answering yet
                pass
            time.sleep(0.1)
        raise RuntimeError("named did not answer on 127.0.0.1:%s in %ss: %s"
                           % (self.port, self.timeout, self.log_tail()))

    def log_tail(self, chars=3000):
        try:
            with open(self.log) as f:
                return f.read()[-chars:]
        except (OSError, TypeError):
            return ""

    # -- queries ---------------------------------------------------------------------------------------------
    def fqdn(self, name):
        """``www`` -> ``www.dr.test.``; ``@`` -> the zone apex; absolute names are kept."""
        name = str(name)
        if name in ("@", ""):
            return self.zone + "."
        if name.endswith("."):
            return name
        if name == self.zone or name.endswith("." + self.zone):
            return name + "."
        return "%s.%s." % (name, self.zone)

    def rrset(self, name, rdtype, timeout=5):
        """The RRset at ``name`` (dnspython ``RRset``, with ``.ttl``) asked over TCP, or None."""
        import dns.message  # pylint: disable=import-outside-toplevel
        import dns.query  # pylint: disable=import-outside-toplevel
        import dns.rcode  # pylint: disable=import-outside-toplevel
        import dns.rdatatype  # pylint: disable=import-outside-toplevel
        q = dns.message.make_query(self.fqdn(name), rdtype)
        r = dns.query.tcp(q, self.server, port=self.port, timeout=timeout)
        if r.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            raise RuntimeError("named answered %s for %s %s" % (dns.rcode.to_text(r.rcode()), name, rdtype))
        for rrset in r.answer:
            if rrset.rdtype == dns.rdatatype.from_text(rdtype) and rrset.name.to_text() == self.fqdn(name):
                return rrset
        return None

    def resolve(self, name, rdtype="A"):
        """Sorted rdata text of ``name``'s ``rdtype`` RRset (``[]`` when there is none)."""
        rrset = self.rrset(name, rdtype)
        return sorted(rd.to_text() for rd in rrset) if rrset is not None else []

    def module_args(self, **extra):
        """The connection options of ``sre.ovirt.dns_record`` for this server."""
        args = {"server": self.server, "port": self.port, "zone": self.zone, "key_name": self.key_name,
                "key_secret": self.key_secret, "key_algorithm": self.key_algorithm}
        args.update(extra)
        return args

    # -- what the server saw ---------------------------------------------------------------------------------
    def update_log(self):
        """named's log lines about UPDATE requests: one ``signer "KEY" approved`` line per signed update it
        accepted for processing, ``update '…' denied`` / ``update failed`` for refused ones, and one
        ``updating zone`` line per change made."""
        marks = ("approved", "update '", "update failed", "updating zone")
        return [line for line in self.log_tail(chars=10 ** 7).splitlines()
                if any(m in line for m in marks) and "client @" in line]

    def updates_received(self):
        """How many UPDATE requests named has processed or refused so far (queries are not counted)."""
        return sum(1 for line in self.update_log() if "approved" in line or "denied" in line
                   or ("update failed" in line and "updating zone" not in line))

    def serial(self):
        """The zone's SOA serial (it grows with every update that changed something)."""
        return self.rrset("@", "SOA")[0].serial
