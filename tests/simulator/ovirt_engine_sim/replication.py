# SPDX-License-Identifier: GPL-3.0-or-later
"""Storage replication between two sites (the storage array's side of disaster recovery, not an Engine API).

``POST /sim/replication {"domain": NAME, "to_path": EXPORT | "to_state_dir": DIR, "mode": "sync"|"async",
"interval": s}`` replicates a storage domain's directory (metadata, images, OVF store) into ``EXPORT/<sd id>``
(``to_state_dir`` means ``DIR/exports/NAME``, where the other simulator finds block domains imported by id). Sync
copies after every request that changes something (and after every OVF store update); async copies every
``interval`` simulated seconds on this simulator's clock, so the replica lags. Copies are incremental: a file is
copied when its size or mtime differs (``cp --reflink=auto --sparse=always``), files gone from the source go.

``GET /sim/replication`` → ``{"domains": {NAME: {"age", "ovf_store_age", "state", "mode", "to_path", "last_sync",
...}}}``: ``age`` is how old the replica's content is (0 for a healthy sync replica), ``ovf_store_age`` how old the
OVF store in the replica is (the VM definitions a failover registers). ``POST /sim/replication/NAME/freeze`` stops
copying (the primary site is lost; the replica stays as it was), ``…/resume`` starts again, ``…/snapshot {"to_path":
P}`` copies the replica's current content to ``P/<sd id>`` (what a DR drill imports while replication goes on),
``…/reverse {"mode", "interval"}`` turns the replication around for failback (the replica, now the other site's
live domain, is copied back into this domain's own export), ``DELETE /sim/replication/NAME`` ends it (files stay).
A copy that another Engine has taken into use (its domain metadata changed where it lies: attached there) is never
overwritten: the replication freezes itself (``promoted``), as an array does once the secondary volume is promoted."""

import datetime
import os
import shutil
import subprocess

from .model import ApiError

UTC = datetime.timezone.utc
_BIG = 1 << 20


def sync_tree(src, dst):
    """Make ``dst`` a copy of ``src``, copying only files whose size or mtime differ. Returns bytes copied."""
    copied = 0
    if not os.path.isdir(src):
        return copied
    os.makedirs(dst, exist_ok=True)
    seen = set()
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        target_dir = os.path.normpath(os.path.join(dst, rel))
        os.makedirs(target_dir, exist_ok=True)
        seen.add(os.path.normpath(rel))
        for d in dirs:
            seen.add(os.path.normpath(os.path.join(rel, d)))
        for name in files:
            if name.endswith(".tmp"):
                continue
            s = os.path.join(root, name)
            t = os.path.join(target_dir, name)
            seen.add(os.path.normpath(os.path.join(rel, name)))
            try:
                ss = os.stat(s)
            except OSError:
                continue
            try:
                ts = os.stat(t)
                if ts.st_size == ss.st_size and ts.st_mtime_ns == ss.st_mtime_ns:
                    continue
            except OSError:
                pass
            tmp = t + ".repl.tmp"
            if ss.st_size > _BIG:
                subprocess.run(["cp", "--reflink=auto", "--sparse=always", "-p", s, tmp], check=True)
            else:
                shutil.copy2(s, tmp)
            os.replace(tmp, t)
            copied += ss.st_size
    for root, dirs, files in os.walk(dst, topdown=False):
        rel = os.path.relpath(root, dst)
        for name in files:
            if os.path.normpath(os.path.join(rel, name)) not in seen:
                os.remove(os.path.join(root, name))
        if os.path.normpath(rel) not in seen and rel != ".":
            shutil.rmtree(root, ignore_errors=True)
    return copied


def _iso(t):
    return None if t is None else datetime.datetime.fromtimestamp(t, UTC).isoformat()


class ReplicationMixin:
    def _replications(self):
        return dict(self.store.meta.get("replication") or {})

    def _replication_save(self, reps):
        self.store.set_meta("replication", reps)

    def _replication(self, name):
        reps = self._replications()
        if name not in reps:
            raise ApiError(404, "No replication of storage domain '%s'" % name)
        return reps, reps[name]

    def replication_create(self, data):
        name = data.get("domain")
        if not name:
            raise ValueError("field 'domain' is required (the storage domain's name)")
        sd = self._target("storagedomains", name)
        if data.get("to_path"):
            to = os.path.abspath(data["to_path"])
        elif data.get("to_state_dir"):
            to = os.path.join(os.path.abspath(data["to_state_dir"]), "exports", name)
        else:
            raise ValueError("one of 'to_path' or 'to_state_dir' is required")
        mode = data.get("mode", "async")
        if mode not in ("sync", "async"):
            raise ValueError("Invalid value '%s' for field 'mode': allowed values are async, sync" % mode)
        interval = float(data.get("interval", 300))
        if interval <= 0:
            raise ValueError("field 'interval' must be > 0 seconds")
        src = self.sd_dir(sd.id)
        if os.path.normpath(os.path.join(to, sd.id)) == os.path.normpath(src):
            raise ValueError("to_path is the domain's own export")
        reps = self._replications()
        if name in reps and reps[name]["state"] in ("replicating", "reversed"):
            raise ApiError(409, "Storage domain '%s' is already replicated to %s" % (name, reps[name]["to_path"]))
        reps[name] = {"domain": name, "domain_id": sd.id, "to_path": to, "mode": mode, "interval": interval,
                      "state": "replicating", "last_sync": None, "ovf_updated": None, "created": self.now(),
                      "copied_bytes": 0, "src": src, "dst": os.path.join(to, sd.id)}
        self._replication_save(reps)
        self.write_sd_metadata(sd.id)
        self._replicate(name)
        if mode == "async":
            self.schedule(interval, "replication_copy", domain=name)
        return self.replication_status()["domains"][name]

    def _replicate(self, name):
        reps = self._replications()
        rec = reps.get(name)
        if rec is None:
            return
        if rec["state"] == "replicating":
            sd = self.store.get("storagedomains", rec["domain_id"])
            if sd is not None:
                self.write_sd_metadata(sd.id)
                rec["ovf_updated"] = self.store.x("storagedomains", sd.id).get("ovf_updated", rec.get("ovf_updated"))
            src, dst = rec["src"], rec["dst"]
        elif rec["state"] == "reversed":
            src, dst = rec["dst"], rec["src"]
            rec["ovf_updated"] = _ovf_written(src)
        else:
            return
        seen = _metadata_text(dst)
        if rec.get("dst_metadata") is not None and seen is not None and seen != rec["dst_metadata"]:
            # the copy was taken into use where it lies (another Engine attached it: its metadata changed): the
            # array has promoted it, copying over it would destroy that site's changes
            rec["state"] = "frozen"
            rec["promoted"] = True
            self.cancel_timers("replication_copy", domain=name)
            reps[name] = rec
            self._replication_save(reps)
            return
        rec["copied_bytes"] = rec.get("copied_bytes", 0) + sync_tree(src, dst)
        rec["dst_metadata"] = _metadata_text(dst)
        rec["last_sync"] = self.now()
        reps[name] = rec
        self._replication_save(reps)

    def timer_replication_copy(self, domain):
        rec = self._replications().get(domain)
        if rec is None or rec["state"] not in ("replicating", "reversed") or rec["mode"] != "async":
            return
        self._replicate(domain)
        self.schedule(rec["interval"], "replication_copy", domain=domain)

    def replication_changed(self, sd_id=None):
        """Sync replicas copy on every change (a request that changed state, an OVF store update)."""
        for name, rec in self._replications().items():
            if rec["mode"] == "sync" and rec["state"] in ("replicating", "reversed") and \
                    (sd_id is None or rec["domain_id"] == sd_id):
                self._replicate(name)

    def replication_status(self):
        now = self.now()
        out = {}
        for name, rec in self._replications().items():
            last = rec.get("last_sync")
            live = rec["mode"] == "sync" and rec["state"] in ("replicating", "reversed")
            age = 0.0 if live else (None if last is None else round(now - last, 3))
            ovf = rec.get("ovf_updated")
            out[name] = {"age": age, "ovf_store_age": None if ovf is None else round(now - ovf, 3),
                         "state": "replicating" if rec["state"] == "reversed" else rec["state"],
                         "direction": "reverse" if rec["state"] == "reversed" else "forward",
                         "mode": rec["mode"], "interval": rec["interval"], "to_path": rec["to_path"],
                         "domain_id": rec["domain_id"], "last_sync": _iso(last), "copied_bytes": rec["copied_bytes"],
                         "replica": rec["dst"], "promoted": bool(rec.get("promoted"))}
        return {"domains": out}

    def replication_action(self, name, verb, data):
        reps, rec = self._replication(name)
        if verb == "freeze":
            rec["state"] = "frozen"
            self.cancel_timers("replication_copy", domain=name)
        elif verb == "resume":
            if rec["state"] != "frozen":
                raise ApiError(409, "Replication of '%s' is not frozen" % name)
            rec["state"] = "replicating"
            rec["dst_metadata"] = None
            rec["promoted"] = False
            reps[name] = rec
            self._replication_save(reps)
            self._replicate(name)
            reps, rec = self._replication(name)
            if rec["mode"] == "async":
                self.schedule(rec["interval"], "replication_copy", domain=name)
        elif verb == "snapshot":
            to = data.get("to_path")
            if not to:
                raise ValueError("field 'to_path' is required")
            target = os.path.join(os.path.abspath(to), rec["domain_id"])
            if os.path.exists(target):
                raise ApiError(409, "%s already exists" % target)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            subprocess.run(["cp", "-a", "--reflink=auto", "--sparse=always", rec["dst"], target], check=True)
            return {"domain": name, "to_path": os.path.abspath(to), "replica": target, "taken": _iso(self.now()),
                    "ovf_store_age": None if rec.get("ovf_updated") is None else round(
                        self.now() - rec["ovf_updated"], 3)}
        elif verb == "reverse":
            x = self.store.x("storagedomains", rec["domain_id"]) if self.store.get(
                "storagedomains", rec["domain_id"]) else {}
            if x.get("data_center") and x.get("status") == "active":
                raise ApiError(409, "Storage domain '%s' is active on this site: deactivate and detach (or remove) it "
                                    "before replicating the other site's copy back into it" % name)
            self.cancel_timers("replication_copy", domain=name)
            rec["state"] = "reversed"
            rec["dst_metadata"] = None
            rec["promoted"] = False
            rec["mode"] = data.get("mode", rec["mode"])
            rec["interval"] = float(data.get("interval", rec["interval"]))
            reps[name] = rec
            self._replication_save(reps)
            self._replicate(name)
            reps, rec = self._replication(name)
            if rec["mode"] == "async":
                self.schedule(rec["interval"], "replication_copy", domain=name)
        else:
            raise ApiError(404, "unknown replication action '%s'" % verb)
        reps[name] = rec
        self._replication_save(reps)
        return self.replication_status()["domains"][name]

    def replication_delete(self, name):
        reps, rec = self._replication(name)
        self.cancel_timers("replication_copy", domain=name)
        del reps[name]
        self._replication_save(reps)
        return {"deleted": name, "replica": rec["dst"]}

    def replication_admin(self, method, parts, data):
        """The ``/sim/replication`` admin endpoints (app.py dispatches here under the engine lock)."""
        if len(parts) == 1:
            if method == "GET":
                self.replication_changed()
                return 200, self.replication_status()
            if method == "POST":
                return 201, self.replication_create(data)
        if len(parts) == 2:
            if method == "GET":
                return 200, self.replication_status()["domains"].get(parts[1]) or self._replication(parts[1])
            if method == "DELETE":
                return 200, self.replication_delete(parts[1])
        if len(parts) == 3 and method == "POST":
            return 200, self.replication_action(parts[1], parts[2], data)
        raise ApiError(404, "unknown admin endpoint /sim/%s" % "/".join(parts))


def _metadata_text(sd_dir):
    try:
        with open(os.path.join(sd_dir, "dom_md", "metadata")) as f:
            return f.read()
    except OSError:
        return None


def _ovf_written(sd_dir):
    """When the OVF store of a domain directory was last written (its metadata's OVF_UPDATED, simulated time of the
    simulator that wrote it)."""
    from .dr import read_metadata
    meta = read_metadata(sd_dir) or {}
    try:
        return float(meta.get("OVF_UPDATED") or "")
    except ValueError:
        return None
