# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Restoring a point: new disks uploaded from the point's qcow2 chain through imageio, each read back and hashed
as guest data before anything of the original VM is touched, then the VM recreated or its disks replaced."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import uuid

from ansible_collections.sre.ovirt.plugins.module_utils.backup import images
from ansible_collections.sre.ovirt.plugins.module_utils.backup.transfers import Transfers, in_parallel
from ansible_collections.sre.ovirt.plugins.module_utils.client.errors import EngineError, EngineNotFound
from ansible_collections.sre.ovirt.plugins.module_utils.client.wait import wait_for

try:
    from ovirtsdk4 import types
except ImportError:  # pragma: no cover
    types = None


class RestoreFailed(EngineError):
    """``mismatch``: a restored disk does not hold the point's content (the point, not the Engine, is at fault)."""

    def __init__(self, message, left=None, mismatch=False):
        super(RestoreFailed, self).__init__(message)
        self.left = left or []
        self.mismatch = mismatch


class DiskRestore:
    """Creates the restored disks; removes them again when the restore fails before they belong to a VM."""

    def __init__(self, client, settings, timeout=600, interval=1.0, workers=4):
        self.client = client
        self.settings = settings
        self.disks = client.system_service().disks_service()
        self.transfers = Transfers(client, timeout=timeout, interval=interval)
        self.timeout = timeout
        self.interval = interval
        self.workers = workers
        self.created = []

    def _disk(self, did):
        try:
            return self.disks.disk_service(did).get()
        except EngineNotFound:
            return None

    def _wait_ok(self, did):
        return wait_for(lambda: self._disk(did), lambda d: d.status is not None and d.status.value == "ok",
                        failed=lambda d: d.status is not None and d.status.value == "illegal", timeout=self.timeout,
                        interval=self.interval, what="disk %s to be ok" % did,
                        describe=lambda d: "status %s" % (d.status.value if d.status else None))

    def create(self, rec, top, sd_id, keep_id):
        """A new qcow2 disk sized for the point's content, incremental backup enabled (the restored VM keeps
        being backed up incrementally)."""
        did = rec["disk_id"] if keep_id else str(uuid.uuid4())
        meta = images.info(top)
        spec = types.Disk(id=did, alias=rec["alias"], name=rec["alias"], provisioned_size=meta["virtual-size"],
                          initial_size=images.measure(top), format=types.DiskFormat.COW, sparse=True,
                          backup=types.DiskBackup.INCREMENTAL, storage_domains=[types.StorageDomain(id=sd_id)])
        self.client.create(lambda: self.disks.add(spec), lambda: self._disk(did), "disk %s" % rec["alias"])
        self.created.append(did)
        self._wait_ok(did)
        return did

    def upload_all(self, jobs):
        """jobs: dicts with disk_id (the new disk) and top (the local chain's top file)."""
        s = self.settings
        for job in jobs:
            job["transfer"] = self.transfers.start(job["disk_id"], "upload")
        self._run_all(lambda job: images.upload(job["top"], job["transfer"].transfer_url, s.ca_file,
                                                secure=not s.insecure, proxy_url=job["transfer"].proxy_url),
                      jobs, "uploading")
        for job in jobs:
            self.transfers.finalize(job["transfer"].id)
            self._wait_ok(job["disk_id"])

    def verify_all(self, jobs):
        """Read every restored disk back through imageio and compare its guest-visible sha256 with the point's
        (computed from the local chain at the same time)."""
        s = self.settings
        for job in jobs:
            job["readback"] = self.transfers.start(job["disk_id"], "download")

        def one(job):
            t = job["readback"]
            job["expected_sha256"] = images.guest_sha256(job["top"])
            job["restored_sha256"] = images.remote_guest_sha256(t.transfer_url, s.ca_file, secure=not s.insecure,
                                                                proxy_url=t.proxy_url)
        self._run_all(one, jobs, "reading back")
        for job in jobs:
            self.transfers.finalize(job["readback"].id)
            self._wait_ok(job["disk_id"])
        bad = [j["alias"] for j in jobs if j["expected_sha256"] != j["restored_sha256"]]
        if bad:
            raise RestoreFailed("verification failed: restored disk(s) %s do not hold the point's content" %
                                ", ".join(bad), mismatch=True)

    def _run_all(self, fn, jobs, doing):
        """``fn(job)`` for every job in parallel; on any failure every open transfer is cancelled and the first
        failure (in job order) is raised."""
        errors = in_parallel(fn, jobs, self.workers)
        if errors:
            self.transfers.cancel_all()
            i, exc = sorted(errors.items())[0]
            raise RestoreFailed("%s disk %s failed: %s" % (doing, jobs[i]["alias"], exc))

    def remove_created(self, keep=()):
        """Remove the disks this restore created (not those now attached to a VM); returns what could not be."""
        left = []
        self.transfers.cancel_all()
        for did in self.created:
            if did in keep:
                continue
            try:
                if self._disk(did) is not None:
                    wait_for(lambda: self._disk(did), lambda d: d is None or d.status.value != "locked",
                             gone_ok=True, timeout=self.timeout, interval=self.interval, what="disk %s" % did)
                    self.disks.disk_service(did).remove()
            except EngineError:
                left.append("disk %s" % did)
        return left


def chain_top(point, rec):
    return os.path.join(point["path"], rec["file"])
