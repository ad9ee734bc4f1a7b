# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backup repository: a directory any tool can read, with a documented, stable layout (docs/backup.md).

    REPOSITORY/
      sre-ovirt-repository.json            {"format": 1}
      vms/VM-ID/points/POINT-ID/
        manifest.json                      what the point is (below)
        DISK-ID.qcow2                      a full, or an overlay whose backing file is
                                           ../PARENT-POINT-ID/DISK-ID.qcow2 (relative: the repository can move)
      vms/VM-ID/points/.partial-POINT-ID/  a point being written; never read, removed by the next run

A point appears under its final name only once every file is written and its checksums are in the manifest
(rename is atomic), so a reader never sees half a point. Point ids sort by time (``20261127T140501Z-1a2b3c4d``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import contextlib
import datetime
import errno
import fcntl
import json
import os
import random
import re
import shutil
import time
import uuid

FORMAT = 1
MARKER = "sre-ovirt-repository.json"
MANIFEST = "manifest.json"
PARTIAL = ".partial-"
POINT_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")


class RepositoryError(Exception):
    """The repository cannot be used (missing, read-only, full, damaged); ``field`` names the option at fault."""

    def __init__(self, message, field="repository"):
        super(RepositoryError, self).__init__(message)
        self.field = field


def utc_text(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text):
    """An ISO 8601 time (``2026-11-27T14:05:00Z``, ``2026-11-27 14:05``, with an offset or UTC) as epoch seconds."""
    value = text.strip().replace(" ", "T")
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        dt = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise RepositoryError("point: %r is neither 'latest', a point id nor an ISO 8601 time" % text, field="point")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return calendar.timegm(dt.utctimetuple()) + dt.microsecond / 1e6


def new_point_id(now=None):
    now = time.time() if now is None else now
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now)) + "-" + uuid.uuid4().hex[:8]


class Repository:
    def __init__(self, path):
        self.path = os.path.abspath(os.path.expanduser(path))

    # -- opening -----------------------------------------------------------------------------------
    def open(self, create=False):
        """Check the directory is a repository (creating it when ``create``); raise RepositoryError if not usable."""
        marker = os.path.join(self.path, MARKER)
        if not os.path.isdir(self.path):
            if not create:
                raise RepositoryError("repository: %s does not exist" % self.path)
            try:
                os.makedirs(self.path)
            except OSError as exc:
                raise RepositoryError("repository: cannot create %s: %s" % (self.path, exc.strerror))
        if not os.path.exists(marker):
            if not create:
                raise RepositoryError("repository: %s is not a backup repository (no %s)" % (self.path, MARKER))
            if os.listdir(self.path):
                raise RepositoryError("repository: %s is not empty and not a backup repository; use an empty "
                                      "directory" % self.path)
            self._write_json(marker, {"format": FORMAT, "created_at": utc_text(time.time())})
        else:
            with open(marker) as f:
                fmt = json.load(f).get("format")
            if fmt != FORMAT:
                raise RepositoryError("repository: %s has layout format %s; this collection reads format %d" % (
                    self.path, fmt, FORMAT))
        return self

    def check_writable(self, need_bytes=0):
        """Fail before anything changes when the repository is read-only or has less than ``need_bytes`` free."""
        probe = os.path.join(self.path, ".write-test-%s" % uuid.uuid4().hex[:8])
        try:
            with open(probe, "w") as f:
                f.write("ok")
            os.remove(probe)
        except (IOError, OSError) as exc:
            raise RepositoryError("repository: %s is not writable: %s" % (self.path, exc.strerror or exc))
        st = os.statvfs(self.path)
        free = st.f_bavail * st.f_frsize
        if need_bytes and free < need_bytes:
            raise RepositoryError("repository: %s has %d MiB free, the backup needs about %d MiB" % (
                self.path, free // 2**20, need_bytes // 2**20))
        return free

    # -- points ------------------------------------------------------------------------------------
    def vm_dir(self, vm_id):
        return os.path.join(self.path, "vms", vm_id, "points")

    def point_dir(self, vm_id, point_id):
        return os.path.join(self.vm_dir(vm_id), point_id)

    def vm_ids(self):
        root = os.path.join(self.path, "vms")
        return sorted(os.listdir(root)) if os.path.isdir(root) else []

    def points(self, vm_id):
        """Every complete point of a VM, oldest first (manifests as dicts, with ``path``)."""
        folder = self.vm_dir(vm_id)
        out = []
        if not os.path.isdir(folder):
            return out
        for name in sorted(os.listdir(folder)):
            if not POINT_ID.match(name):
                continue
            manifest = self.read_manifest(vm_id, name)
            if manifest is not None:
                out.append(manifest)
        return out

    def read_manifest(self, vm_id, point_id):
        path = os.path.join(self.point_dir(vm_id, point_id), MANIFEST)
        try:
            with open(path) as f:
                data = json.load(f)
        except (IOError, OSError, ValueError):
            return None
        data["path"] = os.path.dirname(path)
        return data

    def find_vm(self, name):
        """The id of the VM a name was backed up as (the newest point decides when two VMs had the name)."""
        best = None
        for vm_id in self.vm_ids():
            pts = self.points(vm_id)
            if pts and pts[-1]["vm"]["name"] == name and (best is None or pts[-1]["id"] > best[1]):
                best = (vm_id, pts[-1]["id"])
        return best[0] if best else None

    def usable(self, vm_id):
        """The points that may be restored and built on, oldest first: good, with every point of their chain
        present and good (a point whose parent failed verification is no parent either)."""
        points = self.points(vm_id)
        by_id = dict((p["id"], p) for p in points)

        def chain_ok(point):
            seen = set()
            while point.get("status", "good") == "good":
                parent = point.get("parent")
                if not parent:
                    return True
                if parent in seen or parent not in by_id:
                    return False
                seen.add(parent)
                point = by_id[parent]
            return False
        return [p for p in points if chain_ok(p)]

    def newest_good(self, vm_id):
        usable = self.usable(vm_id)
        return usable[-1] if usable else None

    def mark(self, vm_id, point_id, ok, reason=None, at=None, how=None):
        """Record a verification: ``verified_at`` when it proved the point, ``status: bad`` (never restored or
        built on again) with the reason when it did not."""
        at = time.time() if at is None else at
        if ok:
            return self.update_manifest(vm_id, point_id, verified_at=utc_text(at), verified_epoch=at,
                                        verified_how=how)
        return self.update_manifest(vm_id, point_id, status="bad", bad_reason=reason, bad_at=utc_text(at))

    def select(self, vm_id, point):
        """The point ``point`` names: ``latest``, a point id, or the newest point finished at or before a time."""
        pts = self.usable(vm_id)
        if not pts:
            raise RepositoryError("vm: no usable restore point in %s" % self.path, field="vm")
        if point in (None, "", "latest"):
            return pts[-1]
        if POINT_ID.match(point):
            for p in pts:
                if p["id"] == point:
                    return p
            raise RepositoryError("point: no usable point %s; points: %s" % (
                point, ", ".join(p["id"] for p in pts)), field="point")
        t = parse_time(point)
        before = [p for p in pts if p["finished_epoch"] <= t]
        if not before:
            raise RepositoryError("point: no point finished at or before %s; the oldest is %s" % (
                point, pts[0]["finished_at"]), field="point")
        return before[-1]

    def chain(self, vm_id, manifest):
        """The points a point needs, root (full) first, ending with the point itself."""
        out = [manifest]
        seen = set([manifest["id"]])
        while out[0].get("parent"):
            parent = self.read_manifest(vm_id, out[0]["parent"])
            if parent is None or parent["id"] in seen:
                raise RepositoryError("repository: point %s needs %s, which is missing" % (
                    out[0]["id"], out[0]["parent"]))
            seen.add(parent["id"])
            out.insert(0, parent)
        return out

    # -- writing -----------------------------------------------------------------------------------
    def begin(self, vm_id, point_id):
        """A fresh partial directory for a new point (leftovers of interrupted runs are removed first)."""
        folder = self.vm_dir(vm_id)
        try:
            if not os.path.isdir(folder):
                os.makedirs(folder)
            for name in os.listdir(folder):
                if name.startswith(PARTIAL):
                    shutil.rmtree(os.path.join(folder, name), ignore_errors=True)
            partial = os.path.join(folder, PARTIAL + point_id)
            os.mkdir(partial)
        except OSError as exc:
            raise RepositoryError("repository: cannot write in %s: %s" % (folder, exc.strerror or exc))
        return partial

    def publish(self, vm_id, point_id, partial, manifest):
        """Write the manifest, flush, and make the point visible under its final name in one rename."""
        manifest = dict(manifest)
        manifest.pop("path", None)
        self._write_json(os.path.join(partial, MANIFEST), manifest)
        for name in os.listdir(partial):
            _fsync(os.path.join(partial, name))
        final = self.point_dir(vm_id, point_id)
        os.rename(partial, final)
        _fsync(os.path.dirname(final))
        return final

    def discard(self, partial):
        if partial and os.path.isdir(partial):
            shutil.rmtree(partial, ignore_errors=True)

    # -- who may write ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def vm_lock(self, vm_id, field="name"):
        """Only one run writes a VM's points at a time (two overlapping schedules would otherwise remove each
        other's partial points); the second fails at once, naming the VM."""
        folder = os.path.join(self.path, "vms", vm_id)
        try:
            if not os.path.isdir(folder):
                os.makedirs(folder)
            fd = os.open(os.path.join(folder, ".lock"), os.O_CREAT | os.O_RDWR, 0o600)
        except OSError as exc:
            raise RepositoryError("repository: cannot write in %s: %s" % (folder, exc.strerror or exc))
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except (IOError, OSError):
                raise RepositoryError("%s: another run is writing the points of VM %s in %s right now" % (
                    field, vm_id, self.path), field=field)
            yield
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def slot(self, max_parallel, sleep=time.sleep):
        """At most ``max_parallel`` holders at a time across processes (flock on slot files): a role launches
        every VM's backup at once and the repository lets N work, so a slow VM never holds up a whole batch."""
        if not max_parallel:
            yield None
            return
        folder = os.path.join(self.path, ".slots")
        if not os.path.isdir(folder):
            os.makedirs(folder)
        while True:
            for k in range(max_parallel):
                fd = os.open(os.path.join(folder, "slot-%d" % k), os.O_CREAT | os.O_RDWR, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except (IOError, OSError):
                    os.close(fd)
                    continue
                try:
                    yield k
                finally:
                    os.close(fd)
                return
            sleep(0.1 + random.random() * 0.2)

    def remove_point(self, vm_id, point_id):
        """Make a point invisible in one rename (``.partial-`` is never read, and removed by the next begin), then
        delete its files."""
        gone = os.path.join(self.vm_dir(vm_id), PARTIAL + "removed-" + point_id)
        os.rename(self.point_dir(vm_id, point_id), gone)
        _fsync(self.vm_dir(vm_id))
        shutil.rmtree(gone, ignore_errors=True)

    def update_manifest(self, vm_id, point_id, **fields):
        manifest = self.read_manifest(vm_id, point_id)
        if manifest is None:
            raise RepositoryError("repository: no point %s of VM %s" % (point_id, vm_id))
        manifest.update(fields)
        path = manifest.pop("path")
        self._write_json(os.path.join(path, MANIFEST), manifest)
        return manifest

    @staticmethod
    def _write_json(path, data):
        tmp = path + ".tmp"
        try:
            with open(tmp, "w") as f:
                json.dump(data, f, indent=2, sort_keys=True)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, path)
        except (IOError, OSError) as exc:
            if exc.errno == errno.ENOSPC:
                raise RepositoryError("repository: no space left on %s" % os.path.dirname(path))
            raise RepositoryError("repository: cannot write %s: %s" % (path, exc.strerror or exc))


def _fsync(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
