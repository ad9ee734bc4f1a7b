# SPDX-License-Identifier: GPL-3.0-or-later
"""The simulator process: engine + HTTPS server + clock thread + admin API."""

import os
import secrets
import threading
import time

from . import tls
from .engine import FAULT_KINDS, Engine
from .model import ApiError, render
from .server import Api, RequestLog, Server, new_token


class Simulator:
    def __init__(self, state_dir, listen=("127.0.0.1", 0), seed="default", time_scale=1.0, clock_mode="free",
                 username="admin@internal", password=None, token_ttl=36000):
        self.state_dir = os.path.abspath(state_dir)
        os.makedirs(self.state_dir, exist_ok=True)
        self.engine = Engine(self.state_dir, seed=seed, time_scale=time_scale, clock_mode=clock_mode)
        st = self.engine.store
        self.username = username
        self.password = password or st.meta.get("password") or secrets.token_urlsafe(12)
        st.set_meta("password", self.password)
        self.tokens = dict(st.meta.get("tokens", {}))
        self.token_ttl = token_ttl
        self.api = Api(self.engine)
        self.log = RequestLog()
        self.engine.persist(force=True)
        ctx, self.ca_file = tls.load_or_create(self.state_dir)
        self.server = Server(listen, self, ctx)
        host, port = self.server.server_address[:2]
        shown = "[%s]" % host if ":" in host else host
        self.url = "https://%s:%d/ovirt-engine/api" % (shown, port)
        self.admin_url = "https://%s:%d/sim" % (shown, port)
        self._stop = threading.Event()
        self._threads = []

    # -- lifecycle --------------------------------------------------------------------------------
    def info(self):
        return {"url": self.url, "ca_file": self.ca_file, "username": self.username, "password": self.password,
                "admin_url": self.admin_url}

    def start(self):
        t1 = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        t2 = threading.Thread(target=self._clock_loop, daemon=True)
        for t in (t1, t2):
            t.start()
            self._threads.append(t)

    def _clock_loop(self):
        e = self.engine
        while not self._stop.is_set():
            with e.cond:
                if e.tick():
                    e.replication_changed()     # replication.py: sync replicas follow what the timers changed
                e.persist()
                delay = e.next_due_real()
                e.cond.wait(timeout=1.0 if delay is None else min(max(delay, 0.001), 1.0))

    def stop(self):
        self._stop.set()
        with self.engine.cond:
            self.engine.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()
        with self.engine.lock:
            self.engine.stop_transfers()     # transfers.py: ovirt-imageio and its qemu-nbd exports
            self.engine.store.set_meta("tokens", self.tokens)
            self.engine.persist(force=True)
            self.engine.store.close()

    # -- tokens ----------------------------------------------------------------------------------
    def issue_token(self):
        token = new_token()
        with self.engine.lock:
            self.tokens[token] = time.time() + self.token_ttl
            self.engine.store.set_meta("tokens", self.tokens)
        return token

    def revoke_token(self, token):
        with self.engine.lock:
            if self.tokens.pop(token, None) is not None:
                self.engine.store.set_meta("tokens", self.tokens)

    def token_valid(self, token):
        exp = self.tokens.get(token) if token else None
        return exp is not None and exp > time.time()

    # -- API-level faults ------------------------------------------------------------------------
    def pick_api_fault(self, method, path):
        e = self.engine
        with e.lock:
            for f in e.api_faults():
                if f.get("methods") and method not in f["methods"]:
                    continue
                if f.get("path") and not _match(f["path"], path):
                    continue
                if "count" in f:
                    if int(f["count"]) <= 0:
                        continue
                    f["count"] = int(f["count"]) - 1
                    if f["count"] <= 0:
                        e.faults.remove(f)
                    e.store.set_meta("faults", e.faults)
                    return f
                if e.rng.random() < float(f.get("share", 1.0)):
                    return f
        return None

    # -- admin API -------------------------------------------------------------------------------
    def admin(self, method, path, query, data):
        e = self.engine
        parts = [p for p in path.split("/") if p]
        head = parts[0] if parts else ""
        if head == "" and method == "GET":
            with e.lock:
                return 200, {"seed": e.seed_name, "clock": self._clock(), "counts": {
                    c: e.store.count(c) for c in ("hosts", "vms", "disks", "events", "templates", "storagedomains")},
                    "fault_kinds": FAULT_KINDS}
        if head == "requests":
            if method == "GET":
                return 200, self.log.since(int(query.get("since", 0)))
            if method == "DELETE":
                self.log.reset()
                return 200, {"reset": True}
        if head == "faults":
            with e.lock:
                if method == "GET":
                    return 200, e.faults
                if method == "POST":
                    spec = e.add_fault(data)
                    e.persist()
                    return 201, spec
                if method == "DELETE":
                    e.clear_faults()
                    e.persist()
                    return 200, {"cleared": True}
        if head == "clock":
            with e.cond:
                if method == "POST":
                    if "time_scale" in data:
                        e.clock.set_scale(float(data["time_scale"]))
                    if "mode" in data:
                        e.clock.set_mode(data["mode"])
                    if "advance" in data:
                        e.advance(float(data["advance"]))
                    e.tick()
                    e.replication_changed()
                    e.persist(force=True)
                    e.cond.notify_all()
                return 200, self._clock()
        if head == "history" and method == "GET":
            since = int(query.get("since", 0))
            with e.lock:
                return 200, e.history[since:]
        if head == "tunables":
            with e.lock:
                if method == "POST":
                    e.tunables.update(data)
                    e.store.set_meta("tunables", e.tunables)
                    e.ensure_ovf_timer()       # dr.py: ovf_update_interval applies to the pending update
                    e.persist()
                return 200, e.tunables
        if head == "vms" and len(parts) == 5 and parts[2] == "disks" and (method, parts[4]) in (
                ("POST", "write"), ("GET", "checksum")):
            with e.lock:   # backups.py: a guest write on the disk's active volume, the guest-visible checksum
                if parts[4] == "write":
                    out = e.sim_disk_write(parts[1], parts[3], data or {})
                    e.persist()
                    return 200, out
                return 200, e.sim_disk_checksum(parts[1], parts[3])
        if head in ("hosts", "vms") and len(parts) == 2 and method == "POST":
            with e.lock:
                obj = e._target(head, parts[1])
                x = e.store.x(head, obj.id)
                if head == "hosts":
                    if "update_available" in data:
                        x["pending_update"] = bool(data["update_available"])
                    if "bmc" in data:
                        x.setdefault("bmc", {}).update(data["bmc"])
                else:
                    if "boot_seconds" in data:
                        x["boot_seconds"] = float(data["boot_seconds"])
                    if "guest_agent" in data:   # vms.py: a guest without an agent reports no fqdn and no IPs
                        x["guest_agent"] = bool(data["guest_agent"])
                e.store.touch(head, obj.id)
                e.persist()
                return 200, {"name": obj.name, "id": obj.id, "sim": {k: v for k, v in x.items() if k != "bmc"}}
        if head == "transfers" and method == "GET":
            with e.lock:   # transfers.py: every image transfer with the bytes ovirt-imageio counted
                return 200, e.sim_transfers()
        if head == "engine_backup":   # what engine-backup writes into engine_backup_log (enginebackup.py)
            with e.lock:
                if method == "POST":
                    out = e.record_engine_backup(data or {})
                    e.persist()
                    return 201, out
                return 200, e.engine_backup_log()
        if head == "replication":   # replication.py: the storage array's replication between two sites
            with e.cond:
                code, out = e.replication_admin(method, parts, data)
                e.persist()
                return code, out
        if head == "state" and method == "GET":
            with e.lock:
                return 200, self._state()
        if head == "quotas" and len(parts) == 1 and method == "POST":
            with e.lock:   # the Administration Portal's quota dialog (quotas.py: portal_quota)
                out = e.portal_quota(data)
                e.persist()
                return 200, out
        raise ApiError(404, "unknown admin endpoint /sim/%s" % path)

    def metrics_text(self):
        """The Engine's state for Prometheus (text format 0.0.4). ``sre_ovirt_vm_up`` covers VMs expected to run:
        1 when up, 0 when crashed, unknown or paused; a VM a user stopped (or never started) is not a series."""
        e = self.engine
        lines = ["# HELP sre_ovirt_vm_up Whether a VM that should run is up.", "# TYPE sre_ovirt_vm_up gauge"]
        with e.lock:
            clusters = dict((c.id, c.name) for c in e.store.list("clusters"))
            for vm in e.store.list("vms"):
                status = vm.status.value
                x = e.store.x("vms", vm.id)
                if status == "up":
                    val = 1
                elif status in ("unknown", "not_responding", "paused") or (status == "down" and x.get("down_error")):
                    val = 0
                else:
                    continue
                lines.append('sre_ovirt_vm_up{vm="%s",cluster="%s"} %d' % (
                    _esc(vm.name), _esc(clusters.get(vm.cluster.id, "")), val))
            lines += ["# HELP sre_ovirt_host_up Whether a host is up.", "# TYPE sre_ovirt_host_up gauge"]
            for h in e.store.list("hosts"):
                lines.append('sre_ovirt_host_up{host="%s",cluster="%s",status="%s"} %d' % (
                    _esc(h.name), _esc(clusters.get(h.cluster.id, "")), h.status.value, h.status.value == "up"))
            lines += ["# HELP sre_ovirt_storage_domain_latency_seconds IO latency of a storage domain.",
                      "# TYPE sre_ovirt_storage_domain_latency_seconds gauge"]
            for sd in e.store.list("storagedomains"):
                ms = float(e.store.x("storagedomains", sd.id).get("latency_ms", 0.8))
                lines.append('sre_ovirt_storage_domain_latency_seconds{storage_domain="%s"} %g' % (
                    _esc(sd.name), ms / 1000.0))
        return "\n".join(lines) + "\n"

    def _clock(self):
        c = self.engine.clock
        return {"now": c.now(), "mode": c.mode, "time_scale": c.time_scale, "pending_timers": len(self.engine._timers)}

    def _state(self):
        e = self.engine
        hosts = []
        for h in e.store.list("hosts"):
            out = e.decorate_host(render("hosts", h))
            hosts.append({"id": h.id, "name": h.name, "status": h.status.value, "cluster": h.cluster.id,
                          "memory": h.memory, "capacity": e.host_capacity(h), "committed": e.host_committed(h.id),
                          "update_available": bool(e.store.x("hosts", h.id).get("pending_update")),
                          "vms": out.summary.total})
        vms = [{"id": v.id, "name": v.name, "status": v.status.value, "host": v.host.id if v.host else None,
                "memory": v.memory, "ha": bool(v.high_availability and v.high_availability.enabled)}
               for v in e.store.list("vms")]
        return {"hosts": hosts, "vms": vms, "now": e.now()}


def _esc(text):
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _match(pattern, path):
    import re
    return re.search(pattern, path) is not None
