# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One VM backup on the Engine: the incremental backup API for disks with ``backup: incremental``, a temporary
snapshot for the others, the bytes through imageio into a partial point, and - whatever happens - every
transfer ended, the backup finalized and the snapshot removed before the task returns."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time
import uuid

from ansible_collections.sre.ovirt.plugins.module_utils.backup import images
from ansible_collections.sre.ovirt.plugins.module_utils.backup.transfers import Transfers, in_parallel
from ansible_collections.sre.ovirt.plugins.module_utils.client.errors import EngineError, EngineNotFound
from ansible_collections.sre.ovirt.plugins.module_utils.client.wait import wait_for
from ansible_collections.sre.ovirt.plugins.module_utils.model import backup as facts

try:
    from ovirtsdk4 import types
except ImportError:  # pragma: no cover
    types = None


class BackupFailed(EngineError):
    """The backup did not produce a point; ``cleanup`` says what was ended and what (if anything) remains."""

    def __init__(self, message, cleanup=None):
        super(BackupFailed, self).__init__(message)
        self.cleanup = cleanup or {}


def image_disks(vms_service, vm_id):
    """(attachment, disk) of the VM's image disks in attachment order; LUN and Cinder disks hold no image."""
    out = []
    for att in vms_service.vm_service(vm_id).disk_attachments_service().list(follow="disk"):
        disk = att.disk
        if disk is None or disk.storage_type is None or disk.storage_type.value != "image":
            continue
        out.append((att, disk))
    return out


def checkpoint_state(vms_service, vm_id, checkpoint_id):
    """``created``/``invalid`` for a checkpoint the Engine still has, None when it has not."""
    if not checkpoint_id:
        return None
    try:
        cp = vms_service.vm_service(vm_id).checkpoints_service().checkpoint_service(checkpoint_id).get()
    except EngineNotFound:
        return None
    return cp.state.value if getattr(cp, "state", None) is not None else "created"


class BackupSession:
    def __init__(self, client, vm, settings, timeout=3600, interval=1.0, max_workers=4, inactivity_timeout=120):
        self.client = client
        self.vm = vm
        self.system = client.system_service()
        self.vm_service = self.system.vms_service().vm_service(vm.id)
        self.transfers = Transfers(client, timeout=timeout, interval=interval)
        self.settings = settings
        self.timeout = timeout
        self.interval = interval
        self.max_workers = max_workers
        self.inactivity_timeout = inactivity_timeout
        self.backup_id = None
        self.snapshot_id = None

    # -- the Engine's backup --------------------------------------------------------------------------
    def _backup(self):
        try:
            return self.vm_service.backups_service().backup_service(self.backup_id).get()
        except EngineNotFound:
            return None

    def start_backup(self, disk_ids, from_checkpoint):
        """POST the backup with an id of our own (so a lost answer is found, never sent twice); wait for ready."""
        self.backup_id = str(uuid.uuid4())
        spec = types.Backup(id=self.backup_id, disks=[types.Disk(id=d) for d in disk_ids],
                            from_checkpoint_id=from_checkpoint or None,
                            description="sre.ovirt.vm_backup of %s" % self.vm.name)
        service = self.vm_service.backups_service()
        self.client.create(lambda: service.add(spec), self._backup, "backup of VM %s" % self.vm.name)
        return wait_for(self._backup, lambda b: facts.phase_of(b) == facts.BACKUP_READY,
                        failed=lambda b: facts.phase_of(b) in facts.BACKUP_ENDED, timeout=self.timeout,
                        interval=self.interval, what="backup of VM %s to be ready" % self.vm.name,
                        describe=lambda b: "phase %s" % facts.phase_of(b),
                        latest_error=lambda: self.client.latest_error_event(vm_id=self.vm.id))

    def backup_disk_modes(self):
        """disk id -> ``full``/``incremental`` as the Engine decided per disk (a disk new since the checkpoint is
        backed up in full even in an incremental backup)."""
        try:
            disks = self.vm_service.backups_service().backup_service(self.backup_id).disks_service().list()
        except (EngineError, AttributeError):
            return {}
        return dict((d.id, d.backup_mode.value) for d in disks if getattr(d, "backup_mode", None) is not None)

    def finalize_backup(self):
        if self.backup_id is None:
            return None
        backup = self._backup()
        if backup is None or facts.phase_of(backup) in facts.BACKUP_ENDED:
            return facts.phase_of(backup)
        self.vm_service.backups_service().backup_service(self.backup_id).finalize()
        done = wait_for(self._backup, lambda b: b is None or facts.phase_of(b) in facts.BACKUP_ENDED, gone_ok=True,
                        timeout=self.timeout, interval=self.interval,
                        what="backup of VM %s to finish" % self.vm.name)
        return facts.phase_of(done) if done is not None else facts.BACKUP_SUCCEEDED

    # -- the temporary snapshot for disks without incremental backup -----------------------------------
    def start_snapshot(self, disk_ids, point_id):
        snaps = self.vm_service.snapshots_service()
        description = "sre.ovirt.vm_backup %s" % point_id

        def find():
            for s in snaps.list():
                if s.description == description:
                    return s
            return None
        spec = types.Snapshot(description=description, persist_memorystate=False,
                              disk_attachments=[types.DiskAttachment(disk=types.Disk(id=d)) for d in disk_ids])
        snap = self.client.create(lambda: snaps.add(spec), find, "temporary snapshot of VM %s" % self.vm.name)
        self.snapshot_id = snap.id
        svc = snaps.snapshot_service(snap.id)
        wait_for(svc.get, lambda s: s.snapshot_status.value == "ok", timeout=self.timeout, interval=self.interval,
                 what="temporary snapshot of VM %s" % self.vm.name,
                 describe=lambda s: "status %s" % s.snapshot_status.value,
                 latest_error=lambda: self.client.latest_error_event(vm_id=self.vm.id))
        # the disk snapshot (volume) of each disk in this snapshot is what the transfer reads
        return dict((d.id, d.image_id) for d in svc.disks_service().list())

    def remove_snapshot(self):
        if self.snapshot_id is None:
            return True
        snaps = self.vm_service.snapshots_service()

        def get():
            try:
                return snaps.snapshot_service(self.snapshot_id).get()
            except EngineNotFound:
                return None
        try:
            if get() is not None:
                wait_for(get, lambda s: s is None or s.snapshot_status.value == "ok", gone_ok=True,
                         timeout=self.timeout, interval=self.interval, what="temporary snapshot to be unlocked")
                snaps.snapshot_service(self.snapshot_id).remove()
                wait_for(get, lambda s: s is None, gone_ok=True, timeout=self.timeout, interval=self.interval,
                         what="temporary snapshot %s to be removed" % self.snapshot_id)
        except EngineError:
            return False
        self.snapshot_id = None
        return True

    # -- the bytes -------------------------------------------------------------------------------------
    def download_all(self, jobs):
        """``jobs``: dicts with transfer, path, backing, incremental. Downloads run in parallel threads (imageio
        only; the Engine connection stays in this thread). Returns {disk id: exception} for the failures."""
        s = self.settings

        def one(job):
            t = job["transfer"]
            started = time.monotonic()
            images.download(t.transfer_url, job["path"], s.ca_file, secure=not s.insecure, proxy_url=t.proxy_url,
                            backing_file=job.get("backing"), incremental=job["incremental"])
            job["seconds"] = time.monotonic() - started
        return dict((jobs[i]["disk_id"], exc) for i, exc in in_parallel(one, jobs, self.max_workers).items())

    def run(self, disks, partial, previous, from_checkpoint, point_id):
        """Back up ``disks`` [(attachment, disk)] into the partial directory; return per-disk records and the
        new checkpoint. Cleans up on every path; raises BackupFailed with what was cleaned and what remains."""
        inc_ids = [d.id for _a, d in disks if d.backup is not None and d.backup.value == facts.DISK_INCREMENTAL]
        snap_ids = [d.id for _a, d in disks if d.id not in inc_ids]
        records = dict((d.id, {"disk_id": d.id, "alias": d.alias, "provisioned_size": d.provisioned_size,
                               "interface": a.interface.value if a.interface else None,
                               "bootable": bool(a.bootable), "format": d.format.value if d.format else None,
                               "backup": d.backup.value if d.backup else "none",
                               "storage_domain": d.storage_domains[0].id if d.storage_domains else None,
                               "file": d.id + ".qcow2"}) for a, d in disks)
        jobs, checkpoint, failure = [], None, None
        try:
            if inc_ids:
                backup = self.start_backup(inc_ids, from_checkpoint)
                checkpoint = backup.to_checkpoint_id
                modes = self.backup_disk_modes()
                for did in inc_ids:
                    mode = modes.get(did) or ("incremental" if from_checkpoint else "full")
                    prev = (previous or {}).get(did) if mode == "incremental" else None
                    if mode == "incremental" and prev is None:
                        raise BackupFailed("disk %s: the Engine offers an incremental backup but the repository "
                                           "has no earlier copy of this disk" % records[did]["alias"])
                    t = self.transfers.start(did, "download", backup_id=self.backup_id,
                                             inactivity_timeout=self.inactivity_timeout)
                    records[did].update(backup_mode=mode, method="incremental_backup_api",
                                        parent_file=prev)
                    jobs.append({"disk_id": did, "transfer": t, "path": os.path.join(partial, did + ".qcow2"),
                                 "incremental": mode == "incremental", "backing": prev})
            if snap_ids:
                volumes = self.start_snapshot(snap_ids, point_id)
                for did in snap_ids:
                    t = self.transfers.start(did, "download", snapshot_id=volumes.get(did),
                                             inactivity_timeout=self.inactivity_timeout)
                    records[did].update(backup_mode="full", method="temporary_snapshot", parent_file=None)
                    jobs.append({"disk_id": did, "transfer": t, "path": os.path.join(partial, did + ".qcow2"),
                                 "incremental": False, "backing": None})
            errors = self.download_all(jobs)
            if errors:
                did, exc = sorted(errors.items())[0]
                raise BackupFailed("downloading disk %s failed: %s" % (records[did]["alias"], exc))
            for job in jobs:
                self.transfers.finalize(job["transfer"].id)
                records[job["disk_id"]]["transfer_seconds"] = round(job.get("seconds", 0.0), 3)
        except BaseException as exc:  # noqa: BLE001 - SIGTERM/KeyboardInterrupt too: clean up, then re-raise
            failure = exc
        cleanup = self.cleanup()
        if failure is not None:
            if isinstance(failure, BackupFailed):
                failure.cleanup = cleanup
                raise failure
            if isinstance(failure, EngineError):
                raise BackupFailed(failure.describe() if hasattr(failure, "describe") else str(failure), cleanup)
            raise failure
        if cleanup.get("left"):
            raise BackupFailed("the backup's clean-up did not finish: %s" % ", ".join(cleanup["left"]), cleanup)
        if cleanup.get("backup_phase") == facts.BACKUP_FAILED:
            raise BackupFailed("the Engine reports the backup failed when it was finalized", cleanup)
        return [records[d.id] for _a, d in disks], checkpoint

    def cleanup(self):
        """End every transfer, finalize the backup, remove the temporary snapshot; report what remains."""
        out = {"left": []}
        for tid in self.transfers.cancel_all():
            out["left"].append("image transfer %s" % tid)
        try:
            out["backup_phase"] = self.finalize_backup()
        except EngineError as exc:
            out["left"].append("backup %s of VM %s (finalize failed: %s)" % (self.backup_id, self.vm.name, exc))
        if not self.remove_snapshot():
            out["left"].append("snapshot %s of VM %s" % (self.snapshot_id, self.vm.name))
        return out
