# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Image transfers: create one exactly once, wait until it serves, and always end it (finalize or cancel)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.sre.ovirt.plugins.module_utils.client.errors import EngineError, EngineNotFound
from ansible_collections.sre.ovirt.plugins.module_utils.client.wait import wait_for
from ansible_collections.sre.ovirt.plugins.module_utils.model import backup as facts

try:
    from ovirtsdk4 import types
except ImportError:  # pragma: no cover - EngineModule reports the missing SDK
    types = None


def in_parallel(fn, items, workers):
    """``fn(item)`` for each item in threads (imageio data only: the Engine connection stays in the caller's
    thread); {index: exception} for the items that failed."""
    errors = {}
    if not items:
        return errors
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
        futures = [pool.submit(fn, item) for item in items]
        for i, fut in enumerate(futures):
            if fut.exception() is not None:
                errors[i] = fut.exception()
    return errors


class Transfers:
    """Every transfer this task opened, so that a failure anywhere can end all of them."""

    def __init__(self, client, timeout=600, interval=1.0):
        self.client = client
        self.service = client.system_service().image_transfers_service()
        self.timeout = timeout
        self.interval = interval
        self.open = {}

    def _get(self, tid):
        try:
            return self.service.image_transfer_service(tid).get()
        except EngineNotFound:
            return None

    def start(self, disk_id, direction, backup_id=None, snapshot_id=None, inactivity_timeout=120):
        """POST the transfer (raw: guest data through NBD, with extents) and wait until it is transferring."""
        spec = types.ImageTransfer(
            direction=types.ImageTransferDirection(direction), format=types.DiskFormat.RAW,
            inactivity_timeout=inactivity_timeout)
        if snapshot_id:
            spec.snapshot = types.DiskSnapshot(id=snapshot_id)
        else:
            spec.disk = types.Disk(id=disk_id)
        if backup_id:
            spec.backup = types.Backup(id=backup_id)

        def find():
            for t in self.service.list():
                if t.id in self.open or facts.phase_of(t) in facts.TRANSFER_ENDED:
                    continue
                if (t.disk is not None and t.disk.id == disk_id) or (snapshot_id and t.snapshot is not None
                                                                     and t.snapshot.id == snapshot_id):
                    if backup_id is None or (t.backup is not None and t.backup.id == backup_id):
                        return t
            return None
        transfer = self.client.create(lambda: self.service.add(spec), find, "image transfer of disk %s" % disk_id)
        self.open[transfer.id] = disk_id
        return wait_for(lambda: self._get(transfer.id), lambda t: facts.phase_of(t) == facts.TRANSFER_TRANSFERRING,
                        failed=lambda t: facts.phase_of(t) in facts.TRANSFER_ENDED + facts.TRANSFER_GOING_WRONG,
                        timeout=self.timeout, interval=self.interval, what="image transfer %s" % transfer.id,
                        describe=lambda t: "phase %s" % facts.phase_of(t))

    def finalize(self, tid):
        """Finalize and wait for finished_success; a transfer the Engine already purged counts as finished."""
        self.service.image_transfer_service(tid).finalize()
        try:
            wait_for(lambda: self._get(tid), lambda t: t is None or facts.phase_of(t) in facts.TRANSFER_DONE_OK,
                     failed=lambda t: facts.phase_of(t) in facts.TRANSFER_DONE_FAILED + ("finalizing_failure",), gone_ok=True,
                     timeout=self.timeout,
                     interval=self.interval, what="image transfer %s to finish" % tid,
                     describe=lambda t: "phase %s" % facts.phase_of(t))
        finally:
            self.open.pop(tid, None)

    def cancel(self, tid):
        """Cancel and wait until it is over; never raises (it runs on the failure path)."""
        try:
            current = self._get(tid)
            if current is None or facts.phase_of(current) in facts.TRANSFER_ENDED:
                return True
            if facts.phase_of(current) not in facts.TRANSFER_GOING_WRONG:
                self.service.image_transfer_service(tid).cancel()
            wait_for(lambda: self._get(tid), lambda t: t is None or facts.phase_of(t) in facts.TRANSFER_ENDED,
                     gone_ok=True, timeout=self.timeout, interval=self.interval,
                     what="image transfer %s to end" % tid)
        except EngineError:
            return False
        finally:
            self.open.pop(tid, None)
        return True

    def cancel_all(self):
        left = []
        for tid in list(self.open):
            if not self.cancel(tid):
                left.append(tid)
        return left
