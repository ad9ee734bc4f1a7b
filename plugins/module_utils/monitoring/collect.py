# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One snapshot of the Engine for monitoring, in a bounded number of requests.

Each collection is read with one list request (``follow`` brings the statistics along), so a scrape of 10,000
VMs and 200 hosts costs about ten requests, whatever the size of the estate. The large lists are parsed as a
stream (``xml.etree.ElementTree.iterparse``, each VM dropped once read) instead of building SDK objects: the
same answer, a fraction of the time and memory. Each part is collected on its own: a failing part is recorded
in ``errors`` and the rest of the snapshot is still good."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import os
import time
import xml.etree.ElementTree as ET

from ansible_collections.sre.ovirt.plugins.module_utils.model import events as ev

RUNNING = ("up", "powering_up", "powering_down", "reboot_in_progress", "migrating", "wait_for_launch",
           "restoring_state", "saving_state")
NOT_RESPONDING = ("unknown", "not_responding", "paused")
AUTO_NIC_LIMIT = 2000
LIFECYCLE_CODES = ev.VM_CAME_UP + ev.VM_CRASHED + ev.VM_STOPPED_ON_PURPOSE + (ev.USER_STARTED_VM,)


class RawGetError(Exception):
    pass


def raw_get(client, path, query=None):
    """GET ``path`` through the client's connection (retries, request log); the body as bytes."""
    from ovirtsdk4 import http
    conn = client.connection
    response = conn.wait(conn.send(http.Request(method="GET", path=path, query=query or {}, headers={})))
    if response.code != 200:
        raise RawGetError("GET %s: HTTP %s %s" % (path, response.code, (response.body or b"")[:300]))
    return response.body


def iter_entities(body, tag):
    """The top-level ``tag`` elements of a list answer, one at a time; each is cleared after use."""
    depth = 0
    root = None
    for event, elem in ET.iterparse(io.BytesIO(body), events=("start", "end")):
        if event == "start":
            if root is None:
                root = elem
            depth += 1
            continue
        depth -= 1
        if depth == 1 and elem.tag == tag:
            yield elem
            root.clear()


def _num(text, cast=float, default=None):
    try:
        return cast(text)
    except (TypeError, ValueError):
        return default


def _ref(elem, child):
    c = elem.find(child)
    return c.get("id") if c is not None else None


def _stats(elem):
    out = {}
    parent = elem.find("statistics")
    if parent is None:
        return out
    for s in parent.findall("statistic"):
        datum = s.find("values/value/datum")
        if datum is not None:
            out[s.findtext("name")] = _num(datum.text)
    return out


def _nic_rates(elem):
    rx = tx = 0.0
    speed = 0
    nics = elem.find("nics")
    for nic in (nics.findall("nic") if nics is not None else ()):
        st = _stats(nic)
        rx += st.get("data.current.rx") or 0.0
        tx += st.get("data.current.tx") or 0.0
        speed += _num(nic.findtext("speed"), int, 0) or 0
    return rx, tx, speed


def _bool(text):
    return (text or "").strip().lower() == "true"


class Collector:
    """Collects snapshots from one Engine. ``vm_nics``: follow the VMs' NIC statistics too (True, False, or
    "auto": while the last refresh saw at most AUTO_NIC_LIMIT VMs, as the answer doubles in size);
    ``backup_repository``: a sre.ovirt backup repository to read the newest good point per VM from."""

    def __init__(self, client, vm_nics=True, backup_repository=None, clock=time.time):
        self.client = client
        self.vm_nics = vm_nics
        self.backup_repository = backup_repository
        self.clock = clock
        self.last_event_id = None
        self.lifecycle = {}   # vm id -> "up" | "crashed" | "stopped", from the Engine's events
        self.vm_count = None

    def snapshot(self):
        started = time.monotonic()
        first_request = len(self.client.request_log)
        snap = {"time": self.clock(), "errors": {}, "clusters": [], "hosts": [], "vms": [], "storage_domains": [],
                "engine": {}, "backups": {}}
        for name, part in (("engine", self._engine), ("clusters", self._clusters), ("hosts", self._hosts),
                           ("vms", self._vms), ("storage", self._storage), ("events", self._events),
                           ("backups", self._backups)):
            try:
                part(snap)
            except Exception as exc:  # noqa: BLE001 - a failing part is a metric, never a crash
                snap["errors"][name] = "%s: %s" % (type(exc).__name__, str(exc)[:300])
        snap["requests"] = self.client.request_log[first_request:]
        snap["seconds"] = time.monotonic() - started
        for vm in snap["vms"]:
            vm["should_run"] = should_run(vm, self.lifecycle.get(vm["id"]))
        return snap

    # -- parts --------------------------------------------------------------------------------------
    def _engine(self, snap):
        t = time.monotonic()
        api = self.client.system_service().get()
        snap["engine"]["api_seconds"] = time.monotonic() - t
        snap["engine"]["version"] = api.product_info.version.full_version if api.product_info and \
            api.product_info.version else None
        backup = getattr(api, "engine_backup", None)
        if backup is not None:
            # A full Engine backup is the database and the files: the older of the two is what a restore has.
            db, files = getattr(backup, "last_db_backup", None), getattr(backup, "last_engine_backup", None)
            snap["engine"]["backup_present"] = True
            if db is not None and files is not None:
                snap["engine"]["backup_epoch"] = min(ev.epoch(db), ev.epoch(files))

    def _clusters(self, snap):
        for c in iter_entities(raw_get(self.client, "/clusters"), "cluster"):
            snap["clusters"].append({
                "id": c.get("id"), "name": c.findtext("name"),
                "memory_overcommit_percent": _num(c.findtext("memory_policy/over_commit/percent"), float, 100.0)})

    def _hosts(self, snap):
        body = raw_get(self.client, "/hosts", {"follow": "statistics,nics.statistics"})
        for h in iter_entities(body, "host"):
            st = _stats(h)
            rx, tx, speed = _nic_rates(h)
            cores = 1
            topo = h.find("cpu/topology")
            if topo is not None:
                cores = (_num(topo.findtext("sockets"), int, 1) or 1) * (_num(topo.findtext("cores"), int, 1) or 1) \
                    * (_num(topo.findtext("threads"), int, 1) or 1)
            snap["hosts"].append({
                "id": h.get("id"), "name": h.findtext("name"), "cluster": _ref(h, "cluster"),
                "status": h.findtext("status"), "spm": h.findtext("spm/status") == "spm",
                "memory": _num(h.findtext("memory"), int, 0), "cores": cores,
                "max_scheduling_memory": _num(h.findtext("max_scheduling_memory"), int, 0),
                "cpu_percent": (st.get("cpu.current.user") or 0.0) + (st.get("cpu.current.system") or 0.0),
                "memory_used": st.get("memory.used") or 0.0, "memory_total": st.get("memory.total") or 0.0,
                "load_5m": st.get("cpu.load.avg.5m"), "net_rx": rx, "net_tx": tx, "net_speed": speed,
                "vms_active": _num(h.findtext("summary/active"), int, 0)})

    def _vms(self, snap):
        nics = self.vm_nics
        if nics == "auto":   # NIC statistics double the answer: follow them while the estate is small
            nics = self.vm_count is not None and self.vm_count <= AUTO_NIC_LIMIT
        follow = "statistics,nics.statistics" if nics else "statistics"
        body = raw_get(self.client, "/vms", {"follow": follow})
        for v in iter_entities(body, "vm"):
            st = _stats(v)
            rx, tx = _nic_rates(v)[:2]
            topo = v.find("cpu/topology")
            vcpus = 1
            if topo is not None:
                vcpus = (_num(topo.findtext("sockets"), int, 1) or 1) * (_num(topo.findtext("cores"), int, 1) or 1) \
                    * (_num(topo.findtext("threads"), int, 1) or 1)
            snap["vms"].append({
                "id": v.get("id"), "name": v.findtext("name"), "status": v.findtext("status"),
                "cluster": _ref(v, "cluster"), "host": _ref(v, "host"),
                "ha": _bool(v.findtext("high_availability/enabled")),
                "ha_priority": _num(v.findtext("high_availability/priority"), int, 0),
                "memory": _num(v.findtext("memory"), int, 0), "vcpus": vcpus,
                "cpu_percent": st.get("cpu.current.total"), "memory_used": st.get("memory.used"),
                "net_rx": rx, "net_tx": tx})
        self.vm_count = len(snap["vms"])

    def _storage(self, snap):
        body = raw_get(self.client, "/storagedomains")
        for sd in iter_entities(body, "storage_domain"):
            used = _num(sd.findtext("used"), int)
            avail = _num(sd.findtext("available"), int)
            snap["storage_domains"].append({
                "id": sd.get("id"), "name": sd.findtext("name"), "type": sd.findtext("type"),
                "status": sd.findtext("status") or sd.findtext("external_status"),
                "used": used, "available": avail, "committed": _num(sd.findtext("committed"), int),
                "warning_percent": _num(sd.findtext("warning_low_space_indicator"), float, 10.0),
                "critical_gib": _num(sd.findtext("critical_space_action_blocker"), float, 5.0),
                "latency": None})
        # Latency: the mean read latency of each domain's disks (one list, with their statistics).
        lat = {}
        for d in iter_entities(raw_get(self.client, "/disks", {"follow": "statistics"}), "disk"):
            sds = d.find("storage_domains")
            sd = sds.find("storage_domain") if sds is not None else None
            value = _stats(d).get("disk.read.latency")
            if sd is not None and value is not None:
                lat.setdefault(sd.get("id"), []).append(value)
        for sd in snap["storage_domains"]:
            values = lat.get(sd["id"])
            sd["latency"] = sum(values) / len(values) if values else None

    def _events(self, snap):
        """VM lifecycle events since the last scrape: whether a down VM crashed or was stopped on purpose."""
        from ansible_collections.sre.ovirt.plugins.module_utils.client.search import of_types
        service = self.client.system_service().events_service()
        kwargs = {"search": of_types(*LIFECYCLE_CODES), "max": 5000}
        if self.last_event_id is not None:
            kwargs["from_"] = self.last_event_id
        events = sorted(service.list(**kwargs), key=lambda e: int(e.id))
        for e in events:
            if self.last_event_id is not None and int(e.id) <= self.last_event_id:
                continue
            vm = e.vm.id if e.vm is not None else None
            if vm is None:
                continue
            if e.code in ev.VM_CRASHED:
                self.lifecycle[vm] = "crashed"
            elif e.code in ev.VM_STOPPED_ON_PURPOSE:
                self.lifecycle[vm] = "stopped"
            else:
                self.lifecycle[vm] = "up"
        if events:
            self.last_event_id = max(self.last_event_id or 0, int(events[-1].id))
        elif self.last_event_id is None:
            self.last_event_id = 0

    def _backups(self, snap):
        if self.backup_repository:
            snap["backups"] = newest_backups(self.backup_repository)


def should_run(vm, lifecycle):
    """1: up; 0: expected to run but is not (crashed, unknown, paused, not responding); None: not expected to run
    (stopped on purpose or never started) - no series, as in the simulator's own metric."""
    status = vm["status"]
    if status in RUNNING:
        return 1
    if status in NOT_RESPONDING:
        return 0
    if status == "down" and lifecycle == "crashed":
        return 0
    return None


def newest_backups(root):
    """{vm name: finished epoch of its newest good point} from a backup repository (docs/backup.md)."""
    out = {}
    vms_dir = os.path.join(root, "vms")
    if not os.path.isdir(vms_dir):
        return out
    for vm_dir in os.listdir(vms_dir):
        points = os.path.join(vms_dir, vm_dir, "points")
        if not os.path.isdir(points):
            continue
        for point in os.listdir(points):
            if point.startswith("."):   # .partial-*: being written or left by a killed run, never read
                continue
            try:
                with open(os.path.join(points, point, "manifest.json")) as f:
                    manifest = json.load(f)
            except (OSError, ValueError):
                continue
            if manifest.get("status", "good") != "good" or not manifest.get("finished_epoch"):
                continue
            vm = manifest.get("vm") if isinstance(manifest.get("vm"), dict) else {}
            name = vm.get("name") or vm_dir
            out[name] = max(out.get(name, 0), float(manifest["finished_epoch"]))
    return out
