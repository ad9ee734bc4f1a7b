# SPDX-License-Identifier: GPL-3.0-or-later
"""Engine core: state, clock-driven timers, events, jobs, generic collection handling."""

import datetime
import heapq
import itertools
import os
import random
import threading
import uuid

import ovirtsdk4
from ovirtsdk4 import types as T

from .clock import Clock
from .model import COLLS, ApiError, ref, render
from .store import Store

UTC = datetime.timezone.utc
SEVERITY = {"normal": T.LogSeverity.NORMAL, "warning": T.LogSeverity.WARNING,
            "error": T.LogSeverity.ERROR, "alert": T.LogSeverity.ALERT}


def new_id():
    return str(uuid.uuid4())


class CoreMixin:
    """Clock, timers, persistence, events and jobs shared by every resource handler."""

    def _init_core(self, state_dir, time_scale=1.0, clock_mode="free", rng_seed=0):
        self.state_dir = state_dir
        os.makedirs(state_dir, exist_ok=True)
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.store = Store(os.path.join(state_dir, "engine.db"))
        existed = self.store.load()
        saved_now = self.store.meta.get("clock_now")
        self.clock = Clock(saved_now or datetime.datetime.now(UTC).timestamp(), time_scale, clock_mode)
        self._timers = [tuple(t) for t in self.store.meta.get("timers", [])]
        heapq.heapify(self._timers)
        self._timer_seq = itertools.count(max((t[1] for t in self._timers), default=0) + 1)
        self._event_index = int(self.store.meta.get("event_index", 0))
        self._processing_at = None
        self.rng = random.Random(rng_seed)
        self.history = []          # state-change history for drills: (sim time, kind, id, status)
        return existed

    # -- time ---------------------------------------------------------------------------------
    def now(self):
        return self._processing_at if self._processing_at is not None else self.clock.now()

    def now_dt(self):
        return datetime.datetime.fromtimestamp(self.now(), UTC)

    def schedule(self, delay, name, **args):
        """Run handler ``timer_<name>(**args)`` after ``delay`` simulated seconds."""
        entry = (self.now() + max(0.0, float(delay)), next(self._timer_seq), name, args)
        heapq.heappush(self._timers, entry)
        self.cond.notify_all()
        return entry

    def cancel_timers(self, name, **match):
        keep = [t for t in self._timers if not (t[2] == name and all(t[3].get(k) == v for k, v in match.items()))]
        if len(keep) != len(self._timers):
            self._timers = keep
            heapq.heapify(self._timers)

    def pending(self, name, **match):
        return [t for t in self._timers if t[2] == name and all(t[3].get(k) == v for k, v in match.items())]

    def tick(self, until=None):
        """Run every timer due by ``until`` (default: now) in time order. Caller holds the lock."""
        until = self.clock.now() if until is None else until
        ran = 0
        while self._timers and self._timers[0][0] <= until:
            due, _seq, name, args = heapq.heappop(self._timers)
            self._processing_at = due
            try:
                getattr(self, "timer_" + name)(**args)
            finally:
                self._processing_at = None
            ran += 1
        return ran

    def advance(self, seconds):
        """Manual clock: move forward, running timers at their own due times."""
        target = self.clock.now() + float(seconds)
        self.tick(until=target)
        self.clock.jump(target - self.clock.now())
        return self.clock.now()

    def next_due_real(self):
        if not self._timers:
            return None
        return self.clock.real_delay(self._timers[0][0] - self.clock.now())

    def persist(self, force=False):
        st = self.store
        if not (force or st._dirty or st._deleted or st._meta_dirty):
            return 0
        self.store.set_meta("clock_now", self.clock.now())
        self.store.set_meta("timers", [list(t) for t in self._timers])
        self.store.set_meta("event_index", self._event_index)
        return self.store.flush()

    def record(self, kind, oid, status, **extra):
        entry = {"t": self.now(), "kind": kind, "id": oid, "status": status}
        entry.update(extra)
        self.history.append(entry)

    # -- events and jobs ----------------------------------------------------------------------
    def emit(self, code, description, severity="normal", vm=None, host=None, cluster=None,
             data_center=None, storage_domain=None, template=None, correlation_id=None, custom_id=None,
             origin="oVirt"):
        if correlation_id is None:  # the request's Correlation-Id reaches what it causes
            correlation_id = getattr(self, "request_correlation_id", None)
        self._event_index += 1
        idx = str(self._event_index)
        ev = T.Event(id=idx, index=int(idx), code=code, description=description, severity=SEVERITY[severity],
                     time=self.now_dt(), origin=origin, custom_id=custom_id if custom_id is not None else -1,
                     flood_rate=30, correlation_id=correlation_id)
        for attr, coll, oid in (("vm", "vms", vm), ("host", "hosts", host), ("cluster", "clusters", cluster),
                                ("data_center", "datacenters", data_center),
                                ("storage_domain", "storagedomains", storage_domain),
                                ("template", "templates", template)):
            if oid:
                setattr(ev, attr, ref(coll, oid))
        self.store.put("events", ev)
        return ev

    def start_job(self, description, correlation_id=None):
        if correlation_id is None:
            correlation_id = getattr(self, "request_correlation_id", None)
        jid = new_id()
        now = self.now_dt()
        job = T.Job(id=jid, description=description, status=T.JobStatus.STARTED, start_time=now,
                    last_updated=now, auto_cleared=True, external=False,
                    owner=ref("users", "fdfc627c-d875-11e0-90f0-83df133b58cc") if "users" in COLLS else None)
        self.store.put("jobs", job, extra={"correlation_id": correlation_id} if correlation_id else None)
        step = T.Step(id=new_id(), description=description, type=T.StepEnum.EXECUTING,
                      status=T.StepStatus.STARTED, number=0, start_time=now, job=ref("jobs", jid))
        self.store.put("job_steps", step, parent=jid)
        return jid

    def end_job(self, jid, ok=True):
        job = self.store.get("jobs", jid)
        if job is None or job.status != T.JobStatus.STARTED:
            return
        now = self.now_dt()
        job.status = T.JobStatus.FINISHED if ok else T.JobStatus.FAILED
        job.end_time = job.last_updated = now
        self.store.touch("jobs", jid)
        for step in self.store.list("job_steps", jid):
            if step.status != T.StepStatus.STARTED:  # StepDao.updateJobStepsCompleted: open steps only
                continue
            step.status = T.StepStatus.FINISHED if ok else T.StepStatus.FAILED
            step.end_time = now
            self.store.touch("job_steps", step.id)

    def timer_end_job(self, job, ok=True):
        self.end_job(job, ok)

    def action_result(self, job=None, status="complete", **fields):
        act = T.Action(status=status, **fields)
        if job:
            act.job = ref("jobs", job)
        return act

    # -- lookups ------------------------------------------------------------------------------
    def must(self, coll, oid, parent=None):
        obj = self.store.get(coll, oid)
        if obj is None or (parent is not None and self.store.parent_of(coll, oid) != parent):
            raise ApiError(404)
        return obj

    def by_name(self, coll, name):
        found = [obj for obj in self.store.list(coll) if obj.name == name]
        if coll == "templates" and len(found) > 1:
            # GetVmTemplateByVmtName: the versions of a template share its name; the highest version answers
            return max(found, key=lambda t: (t.version.version_number or 1) if t.version else 1)
        return found[0] if found else None

    def resolve(self, coll, given, what, required=True):
        """Resolve a reference the client sent (by id or by name) to the stored object."""
        if given is None or (given.id is None and getattr(given, "name", None) is None):
            if required:
                raise ApiError(400, "[Cannot add %s. The %s is required.]" % (what, COLLS[coll].singular.replace("_", " ")))
            return None
        if given.id is not None:
            obj = self.store.get(coll, given.id)
            if obj is None:
                raise ApiError(404, "Entity not found: %s: id=%s" % (_title(coll), given.id))
            return obj
        obj = self.by_name(coll, given.name)
        if obj is None:
            raise ApiError(404, "Entity not found: %s: name=%s" % (_title(coll), given.name))
        return obj

    # -- generic handlers ---------------------------------------------------------------------
    def list_generic(self, coll, parent=None):
        return [render(coll, o, parent) for o in self.store.list(coll, parent)]

    def get_generic(self, coll, oid, parent=None):
        return render(coll, self.must(coll, oid, parent), parent)

    def remove_generic(self, coll, oid, parent=None):
        self.must(coll, oid, parent)
        self.store.delete(coll, oid)


def _title(coll):
    return {"vms": "VM", "templates": "Template", "clusters": "Cluster", "hosts": "Host",
            "storagedomains": "StorageDomain", "disks": "Disk", "datacenters": "DataCenter",
            "vnicprofiles": "VnicProfile", "networks": "Network", "tags": "Tag"}.get(coll, coll)


def value_list(items, href=None):
    lst = ovirtsdk4.List(href)
    lst.extend(items)
    return lst
