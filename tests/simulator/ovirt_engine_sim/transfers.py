# SPDX-License-Identifier: GPL-3.0-or-later
"""Image transfers (``/imagetransfers``): TransferDiskImageCommand's state machine over a real ovirt-imageio daemon
(imageio.py).

- ``format=raw`` is the NBD backend: qemu-nbd exports the disk (with its backing chain unless ``shallow``; the
  snapshot's volume for ``snapshot``; the frozen volume and bitmap from ``backup_export`` for ``backup``), so clients
  read and write guest data with extents. Otherwise (``cow``, or the disk's own format by default) the file backend
  serves the active volume's bytes, as vdsm's PrepareImage path does: for a disk with snapshots that is the top
  qcow2 layer only, backing file reference included.
- Phases on the simulated clock: initializing -> transferring (ticket added) -> finalize: finalizing_success ->
  finished_success (uploads are verified first, VerifyUntrustedVolume: ``qemu-img check``/``info`` and the format);
  cancel: cancelled_user -> finalizing_cleanup -> finished_cleanup -> finished_failure; system cancel (inactivity,
  lost ticket): cancelled_system -> finalizing_failure -> finished_failure. A failed or cancelled upload makes the
  disk illegal and removes it (endWithFailure: RemoveDisk), as the Engine does.
- The disk is locked from the add to the end. Inactivity is the daemon's own ``idle_time`` (real seconds, as the
  Engine reads it from the ticket) against ``inactivity_timeout`` (default 60, 0 disables), acted on per
  ``timeout_policy`` (legacy: a download is cancelled, an upload paused).
- ``bytes`` in ``/sim/transfers`` is the daemon's ``transferred`` count, sampled while the ticket lives."""

import json
import math
import os
import subprocess

from ovirtsdk4 import types as T

from .core import new_id
from .imageio import Daemon, ImageioError
from .jobs import incomplete
from .model import ApiError, conflict, ref, render

P = T.ImageTransferPhase
FINAL = (P.FINISHED_SUCCESS, P.FINISHED_FAILURE)
OPEN = (P.INITIALIZING, P.TRANSFERRING, P.PAUSED_USER, P.PAUSED_SYSTEM, P.RESUMING)
QCOW_OVERHEAD_FACTOR = 1.1           # StorageConstants
QCOW_HEADER_OVERHEAD = 5 << 20
TICKET_LIFETIME = 300                # ImageTransferClientTicketValidityInSeconds
WHAT = "Cannot transfer Virtual Disk."


class TransfersMixin:
    # -- the daemon ----------------------------------------------------------------------------------
    def imageio(self, start=True):
        daemon = getattr(self, "_imageio", None)
        if daemon is None:
            daemon = self._imageio = Daemon(self.state_dir)
        if start and not daemon.running():
            try:
                daemon.start()
            except (ImageioError, OSError) as exc:
                raise ApiError(500, "ovirt-imageio: %s" % exc)
        return daemon

    def stop_transfers(self):
        """Simulator stop: the daemon and every qemu-nbd go; open transfers fail cleanly at the next start."""
        daemon = getattr(self, "_imageio", None)
        if daemon is not None:
            for t in self.store.list("imagetransfers"):
                x = self.store.x("imagetransfers", t.id)
                if x.get("ticket") and t.phase not in FINAL:
                    self._sample(t.id)
            daemon.stop()

    def recover_transfers(self):
        """Start-up: processes a killed simulator left are stopped; open transfers lost their ticket, so they
        fail as the Engine fails a transfer whose ticket is gone."""
        Daemon(self.state_dir).reap_leftovers()
        failed = []
        for t in self.store.list("imagetransfers"):
            if t.phase in FINAL:
                continue
            x = self.store.x("imagetransfers", t.id)
            x.pop("ticket", None)
            self._finish(t, ok=False, cancelled=False)
            failed.append(t.id)
        return failed

    # -- REST ----------------------------------------------------------------------------------------
    def list_imagetransfers(self, parent, query):
        return [self._render_transfer(t) for t in self.store.list("imagetransfers")]

    def get_imagetransfers(self, parent, tid, query):
        return self._render_transfer(self.must("imagetransfers", tid))

    def _render_transfer(self, t):
        x = self.store.x("imagetransfers", t.id)
        if x.get("ticket") and t.phase not in FINAL:
            self._sample(t.id)
        out = render("imagetransfers", t)
        out.transferred = x.get("bytes", 0)
        return out

    def add_imagetransfers(self, parent, it, query):
        direction = it.direction or T.ImageTransferDirection.UPLOAD
        upload = direction == T.ImageTransferDirection.UPLOAD
        disk_ref = it.disk if it.disk is not None and it.disk.id else it.image if it.image is not None and \
            it.image.id else None
        backup = volume = bitmap = qfmt = None
        if it.snapshot is not None and it.snapshot.id:
            disk, volume = self._disk_of_volume(it.snapshot.id)
        elif disk_ref is not None:
            disk = self.store.get("disks", disk_ref.id)
            if disk is None:
                raise ApiError(404, "Entity not found: Disk: id=%s" % disk_ref.id)
        else:
            raise incomplete("ImageTransfer", ["disk.id|image.id|snapshot.id"])
        if disk.storage_type != T.DiskStorageType.IMAGE or not self.disk_path(disk.id):
            raise conflict("%s The operation is not supported for this disk type." % WHAT)
        fmt = it.format or disk.format or T.DiskFormat.COW
        if disk.status == T.DiskStatus.ILLEGAL:
            raise conflict("%s The following attached disks are in ILLEGAL status: %s - please remove them and try "
                           "again." % (WHAT, disk.alias))
        sd_id = disk.storage_domains[0].id
        if self.sd_status(sd_id) != T.StorageDomainStatus.ACTIVE:
            sd = self.store.get("storagedomains", sd_id)
            raise conflict("%s Storage Domain %s is not active." % (WHAT, sd.name if sd else sd_id))
        if it.backup is not None and it.backup.id:
            if fmt == T.DiskFormat.COW:
                raise conflict("%s The format is not applicable for backup, use raw format instead." % WHAT)
            export = getattr(self, "backup_export", None)
            if export is None:
                raise ApiError(404, "Entity not found: Backup: id=%s" % it.backup.id)
            got = export(it.backup.id, disk.id)
            backup, volume, bitmap, qfmt = it.backup.id, got["path"], got.get("bitmap"), got.get("format")
        else:
            if volume is None:
                self._check_not_running(disk)
            if disk.status == T.DiskStatus.LOCKED or self._open_transfer_of(disk.id):
                raise conflict("Cannot transfer Virtual Disk: The following disks are locked: %s. Please try again "
                               "in a few minutes." % disk.alias)
        if volume is None:
            volume = self.disk_path(disk.id)
        if not volume or not os.path.exists(volume):
            raise conflict("%s The disk's image is not available." % WHAT)
        host = self._transfer_host(it.host, sd_id)
        nbd = fmt == T.DiskFormat.RAW or backup is not None
        size = self._transfer_size(disk, volume, upload, nbd)
        inactivity = 60 if it.inactivity_timeout is None else int(it.inactivity_timeout)
        policy = it.timeout_policy or T.ImageTransferTimeoutPolicy.LEGACY
        tid = new_id()
        t = T.ImageTransfer(id=tid, phase=P.INITIALIZING, direction=direction, format=fmt, active=False,
                            inactivity_timeout=inactivity, timeout_policy=policy, shallow=bool(it.shallow),
                            disk=ref("disks", disk.id), image=T.Image(id=disk.id), host=ref("hosts", host.id),
                            transferred=0)
        if it.snapshot is not None and it.snapshot.id:
            t.snapshot = T.DiskSnapshot(id=it.snapshot.id)
        if backup:
            vid = self.store.parent_of("vm_backups", backup)
            t.backup = ref("vm_backups", backup, vid) if vid else T.Backup(id=backup)
        kind = "Upload" if upload else "Download"
        job = self.start_job("%s Image %s" % ("Uploading" if upload else "Downloading", disk.alias))
        self.store.put("imagetransfers", t, extra={
            "disk": disk.id, "alias": disk.alias, "backup": backup, "volume": volume, "bitmap": bitmap,
            "qfmt": qfmt or _qfmt(volume), "backend": "nbd" if nbd else "file", "size": size, "kind": kind, "job": job,
            "bytes": 0, "locked": backup is None})
        if backup is None:
            disk.status = T.DiskStatus.LOCKED
            self.store.touch("disks", disk.id)
        self.emit(1031, "Image %s with disk %s was initiated by admin@internal-authz." % (kind, disk.alias),
                  storage_domain=sd_id)
        self.schedule(float(self.tunables.get("transfer_init_seconds", 2)), "transfer_start", transfer=tid)
        return render("imagetransfers", t)

    def _disk_of_volume(self, image_id):
        for disk in self.store.list("disks"):
            for path in self.store.x("disks", disk.id).get("chain") or []:
                if os.path.basename(path) == image_id:
                    return disk, path
        raise ApiError(404, "Entity not found: DiskSnapshot: id=%s" % image_id)

    def _check_not_running(self, disk):
        """DiskValidator.isDiskPluggedToAnyNonDownVm: the active image of a disk a VM uses is not transferred."""
        if self.store.get("vm_disk_attachments", disk.id) is None:
            return
        vm = self.store.get("vms", self.store.parent_of("vm_disk_attachments", disk.id))
        if vm is not None and vm.status != T.VmStatus.DOWN:
            raise conflict("%s At least one of the VMs is not down." % WHAT)

    def _open_transfer_of(self, disk_id):
        return [t for t in self.store.list("imagetransfers") if t.phase not in FINAL and
                self.store.x("imagetransfers", t.id).get("disk") == disk_id]

    def _transfer_host(self, given, sd_id):
        """An Up host of the storage domain's data center (VdsCommandsHelper.getHostForExecution), or the one
        the client named."""
        if given is not None and (given.id or given.name):
            host = self.resolve("hosts", given, "Virtual Disk")
            if host.status != T.HostStatus.UP:
                raise conflict("%s Host %s is not in Up status." % (WHAT, host.name))
            return host
        dc = self.store.x("storagedomains", sd_id).get("data_center")
        for host in self.store.list("hosts"):
            cluster = self.store.get("clusters", host.cluster.id) if host.cluster else None
            in_dc = cluster is not None and cluster.data_center is not None and cluster.data_center.id == dc
            if host.status == T.HostStatus.UP and (in_dc or dc is None):
                return host
        raise conflict("%s There is no active Host in the Data Center." % WHAT)

    @staticmethod
    def _transfer_size(disk, volume, upload, nbd):
        """TransferDiskImageCommand.getTransferSize (file storage)."""
        if nbd or disk.format == T.DiskFormat.RAW:
            return disk.provisioned_size
        if upload:
            return int(math.ceil(disk.provisioned_size * QCOW_OVERHEAD_FACTOR)) + QCOW_HEADER_OVERHEAD
        return os.path.getsize(volume)

    # -- phases ----------------------------------------------------------------------------------
    def _phase(self, t, phase):
        t.phase = phase
        self.store.touch("imagetransfers", t.id)
        self.record("imagetransfers", t.id, phase.value)

    def timer_transfer_start(self, transfer):
        t = self.store.get("imagetransfers", transfer)
        if t is None or t.phase != P.INITIALIZING:
            return
        x = self.store.x("imagetransfers", transfer)
        upload = x["kind"] == "Upload"
        try:
            daemon = self.imageio()
            if x["backend"] == "nbd":
                url = daemon.start_nbd(transfer, x["volume"], x["qfmt"], readonly=not upload, bitmap=x.get("bitmap"),
                                       shallow=bool(t.shallow))
            else:
                url = "file://" + x["volume"]
            ticket = new_id()
            disk = self.store.get("disks", x["disk"])
            daemon.add_ticket({"uuid": ticket, "size": int(x["size"]), "url": url, "timeout": TICKET_LIFETIME,
                               "inactivity_timeout": int(t.inactivity_timeout), "ops": ["write" if upload else "read"],
                               "transfer_id": transfer, "sparse": bool(disk is not None and disk.sparse),
                               "dirty": bool(x.get("bitmap"))})
        except (ApiError, ImageioError, OSError) as exc:
            x["error"] = str(exc)
            self.imageio(start=False).stop_nbd(transfer)
            self._stop_by_system(t)
            return
        x["ticket"] = ticket
        port = daemon.port
        fault = self.take_fault("transfer_interrupted", disk=disk.alias if disk is not None else None,
                                disk_id=x["disk"])
        if fault is not None:
            port = daemon.start_relay(transfer, int(fault.get("after_bytes", 0)))
            x["relay"] = port
        t.transfer_url = t.proxy_url = "https://127.0.0.1:%d/images/%s" % (port, ticket)
        self._phase(t, P.TRANSFERRING)
        self._schedule_poll(transfer)

    def _schedule_poll(self, transfer):
        scale = max(self.clock.time_scale, 1e-6)
        delay = max(float(self.tunables.get("transfer_poll_seconds", 2)), 0.2 / scale)
        self.schedule(delay, "transfer_poll", transfer=transfer)

    def _sample(self, tid):
        """The daemon's view of the ticket: bytes it served or received, activity, idle time."""
        x = self.store.x("imagetransfers", tid)
        info = self.imageio(start=False).get_ticket(x["ticket"]) if x.get("ticket") else None
        if info is not None:
            if info.get("transferred") is not None and info["transferred"] != x.get("bytes"):
                x["bytes"] = int(info["transferred"])
                self.store.touch("imagetransfers", tid)
            t = self.store.get("imagetransfers", tid)
            if t is not None and t.active != bool(info.get("active")):
                t.active = bool(info.get("active"))
                self.store.touch("imagetransfers", tid)
        return info

    def timer_transfer_poll(self, transfer):
        t = self.store.get("imagetransfers", transfer)
        if t is None or t.phase not in (P.TRANSFERRING, P.PAUSED_USER, P.PAUSED_SYSTEM, P.RESUMING):
            return
        info = self._sample(transfer)
        if info is None:
            self._stop_by_system(t)                  # TRANSFER_IMAGE_STOPPED_BY_SYSTEM_MISSING_TICKET
            return
        if t.phase == P.TRANSFERRING:
            timeout = int(t.inactivity_timeout or 0)
            if timeout > 0 and int(info.get("idle_time") or 0) > timeout and not info.get("active"):
                policy = t.timeout_policy or T.ImageTransferTimeoutPolicy.LEGACY
                upload = self.store.x("imagetransfers", transfer)["kind"] == "Upload"
                if policy == T.ImageTransferTimeoutPolicy.CANCEL or (
                        policy == T.ImageTransferTimeoutPolicy.LEGACY and not upload):
                    self._cancel(t, P.CANCELLED_SYSTEM)
                    return
                self._phase(t, P.PAUSED_SYSTEM)
        self._schedule_poll(transfer)

    def _stop_by_system(self, t):
        """updateEntityPhaseToStoppedBySystem: an upload pauses, a download is cancelled."""
        if self.store.x("imagetransfers", t.id)["kind"] == "Upload":
            self._phase(t, P.PAUSED_SYSTEM)
        else:
            self._cancel(t, P.CANCELLED_SYSTEM)

    def _cancel(self, t, phase):
        x = self.store.x("imagetransfers", t.id)
        x.setdefault("audit", 1033)
        self._phase(t, phase)
        self.cancel_timers("transfer_poll", transfer=t.id)
        self.schedule(1, "transfer_cleanup", transfer=t.id)

    def timer_transfer_cleanup(self, transfer):
        t = self.store.get("imagetransfers", transfer)
        if t is None or t.phase in FINAL:
            return
        user = t.phase == P.CANCELLED_USER
        self._phase(t, P.FINALIZING_CLEANUP if user else P.FINALIZING_FAILURE)
        if not self._stop_session(t):
            self._phase(t, P.CANCELLED_USER if user else P.CANCELLED_SYSTEM)
            self.schedule(1, "transfer_cleanup", transfer=transfer)
            return
        if user:
            self._phase(t, P.FINISHED_CLEANUP)
        self.schedule(1, "transfer_failed", transfer=transfer)

    def timer_transfer_failed(self, transfer):
        t = self.store.get("imagetransfers", transfer)
        if t is not None and t.phase not in FINAL:
            self._finish(t, ok=False, cancelled=False)

    def _stop_session(self, t):
        """Remove the ticket (False while the daemon still has it in use), then the NBD export and relay."""
        x = self.store.x("imagetransfers", t.id)
        daemon = self.imageio(start=False)
        if x.get("ticket"):
            self._sample(t.id)
            if not daemon.remove_ticket(x["ticket"]):
                return False
            x.pop("ticket")
        daemon.stop_relay(t.id)
        daemon.stop_nbd(t.id)
        self.store.touch("imagetransfers", t.id)
        return True

    def timer_transfer_finalize(self, transfer):
        t = self.store.get("imagetransfers", transfer)
        if t is None or t.phase != P.FINALIZING_SUCCESS:
            return
        if not self._stop_session(t):
            self.schedule(1, "transfer_finalize", transfer=transfer)
            return
        x = self.store.x("imagetransfers", transfer)
        if x["kind"] == "Upload":
            problem = self._verify(x)
            if problem:
                x["error"] = problem
                self._phase(t, P.FINALIZING_FAILURE)
                self.schedule(1, "transfer_failed", transfer=transfer)
                return
        self._finish(t, ok=True)

    def _verify(self, x):
        """VerifyUntrustedVolume: the volume must be an image of the disk's format that qemu-img accepts."""
        path = x["volume"]
        disk = self.store.get("disks", x["disk"])
        want = "qcow2" if disk is not None and disk.format == T.DiskFormat.COW else "raw"
        got = _qfmt(path)
        if got != want:
            return "the volume holds %s data, the disk's format is %s" % (got, want)
        cmd = ["qemu-img", "check", "-f", got, path] if got == "qcow2" else ["qemu-img", "info", "-f", got, path]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode not in (0,):
            return (proc.stderr or proc.stdout).strip() or "qemu-img %s failed" % cmd[1]
        return None

    def _finish(self, t, ok, cancelled=False):
        x = self.store.x("imagetransfers", t.id)
        daemon = getattr(self, "_imageio", None)
        if daemon is not None:
            daemon.stop_relay(t.id)
            daemon.stop_nbd(t.id)
        x.pop("ticket", None)
        disk = self.store.get("disks", x["disk"])
        alias = x.get("alias")
        if ok:
            if disk is not None and x.get("locked"):
                disk.status = T.DiskStatus.OK
                path = self.disk_path(disk.id)
                if path and os.path.exists(path):
                    disk.actual_size = disk.total_size = os.stat(path).st_blocks * 512
                self.store.touch("disks", disk.id)
            self._phase(t, P.FINISHED_SUCCESS)
            self.emit(1032, "Image %s with disk %s succeeded." % (x["kind"], alias))
        else:
            if disk is not None and x.get("locked"):
                if x["kind"] == "Upload":      # ILLEGAL, then endWithFailure removes the disk
                    disk.status = T.DiskStatus.ILLEGAL
                    if self.store.get("vm_disk_attachments", disk.id) is not None:
                        self.store.delete("vm_disk_attachments", disk.id)
                    self.delete_disk(disk.id)
                else:
                    disk.status = T.DiskStatus.OK
                    self.store.touch("disks", disk.id)
            self._phase(t, P.FINISHED_FAILURE)
            if x.get("audit") == 1033:
                self.emit(1033, "Image %s with disk %s was cancelled." % (x["kind"], alias), "warning")
            else:
                self.emit(1034, "Image %s with disk %s failed." % (x["kind"], alias), "error")
        t.active = False
        self.store.touch("imagetransfers", t.id)
        self.end_job(x.get("job"), ok=ok)

    # -- actions ---------------------------------------------------------------------------------
    def action_imagetransfers_finalize(self, parent, tid, action, query):
        t = self.must("imagetransfers", tid)
        if t.phase in (P.FINALIZING_SUCCESS, P.FINISHED_SUCCESS):
            return self.action_result()
        if t.phase not in (P.TRANSFERRING, P.PAUSED_USER, P.PAUSED_SYSTEM, P.RESUMING):
            raise conflict("Cannot finalize image transfer. The image transfer is in phase %s." % t.phase.value)
        self.cancel_timers("transfer_poll", transfer=tid)
        self._phase(t, P.FINALIZING_SUCCESS)
        self.schedule(1, "transfer_finalize", transfer=tid)
        return self.action_result()

    def action_imagetransfers_cancel(self, parent, tid, action, query):
        t = self.must("imagetransfers", tid)
        if t.phase in FINAL or t.phase in (P.CANCELLED_USER, P.CANCELLED_SYSTEM, P.FINALIZING_CLEANUP,
                                           P.FINISHED_CLEANUP, P.FINALIZING_FAILURE):
            return self.action_result()
        if t.phase == P.FINALIZING_SUCCESS:
            raise conflict("Cannot cancel image transfer. The image transfer is being finalized.")
        self.cancel_timers("transfer_start", transfer=tid)
        self._cancel(t, P.CANCELLED_USER)
        return self.action_result()

    def action_imagetransfers_pause(self, parent, tid, action, query):
        t = self.must("imagetransfers", tid)
        if t.phase != P.TRANSFERRING:
            raise conflict("Cannot pause image transfer. The image transfer is in phase %s." % t.phase.value)
        self._phase(t, P.PAUSED_USER)
        return self.action_result()

    def action_imagetransfers_resume(self, parent, tid, action, query):
        t = self.must("imagetransfers", tid)
        if t.phase not in (P.PAUSED_USER, P.PAUSED_SYSTEM):
            raise conflict("Cannot resume image transfer. The image transfer is in phase %s." % t.phase.value)
        x = self.store.x("imagetransfers", tid)
        if not x.get("ticket") or self._sample(tid) is None:
            raise conflict("Cannot resume image transfer. The transfer session no longer exists.")
        self._phase(t, P.RESUMING)
        self.schedule(1, "transfer_resumed", transfer=tid)
        return self.action_result()

    def timer_transfer_resumed(self, transfer):
        t = self.store.get("imagetransfers", transfer)
        if t is not None and t.phase == P.RESUMING:
            x = self.store.x("imagetransfers", transfer)
            self.imageio(start=False).extend_ticket(x["ticket"], TICKET_LIFETIME)
            self._phase(t, P.TRANSFERRING)

    def action_imagetransfers_extend(self, parent, tid, action, query):
        t = self.must("imagetransfers", tid)
        x = self.store.x("imagetransfers", tid)
        if t.phase in FINAL or not x.get("ticket"):
            raise conflict("Cannot extend image transfer. The transfer session no longer exists.")
        try:
            self.imageio(start=False).extend_ticket(x["ticket"], TICKET_LIFETIME)
        except (ImageioError, OSError) as exc:
            raise conflict("Cannot extend image transfer. %s" % exc)
        return self.action_result()

    # -- disk snapshots of a storage domain; reduce ---------------------------------------------------
    def view_storagedomains_disksnapshots(self, sid, query):
        """``/storagedomains/{sd}/disksnapshots``: the images of the domain's disks that belong to snapshots."""
        self.must("storagedomains", sid)
        out = []
        for disk in self.store.list("disks"):
            if disk.storage_domains and disk.storage_domains[0].id == sid and disk.storage_type == \
                    T.DiskStorageType.IMAGE:
                out += self.view_disks_disksnapshots(disk.id, {})
        return out

    def viewget_storagedomains_disksnapshots(self, sid, image_id, query):
        self.must("storagedomains", sid)
        for disk in self.store.list("disks"):
            if disk.storage_domains and disk.storage_domains[0].id == sid:
                for item in self.view_disks_disksnapshots(disk.id, {"include_active": "true"}):
                    if item.id == image_id:
                        return item
        raise ApiError(404)

    def action_disks_reduce(self, parent, did, action, query):
        """ReduceImageCommand: a qcow2 volume on a block domain shrinks to what it uses (here: the file is cut at
        ``qemu-img check``'s image end offset)."""
        disk = self.must("disks", did)
        what = "Cannot reduce Virtual Disk."
        if disk.status == T.DiskStatus.LOCKED:
            raise conflict("Cannot reduce Virtual Disk: The following disks are locked: %s. Please try again in a "
                           "few minutes." % disk.alias)
        sd = self.store.get("storagedomains", disk.storage_domains[0].id) if disk.storage_domains else None
        if sd is None or sd.storage is None or sd.storage.type not in (T.StorageType.ISCSI, T.StorageType.FCP):
            raise conflict("%s Reducing a disk is supported only on block storage domains." % what)
        if self.store.get("vm_disk_attachments", did) is not None:
            vm = self.store.get("vms", self.store.parent_of("vm_disk_attachments", did))
            if vm is not None and vm.status != T.VmStatus.DOWN:
                raise conflict("%s At least one of the VMs is not down." % what)
        disk.status = T.DiskStatus.LOCKED
        self.store.touch("disks", did)
        job = self.start_job("Reducing Disk %s" % disk.alias)
        self.schedule(2, "disk_reduced", disk=did, job=job)
        return self.action_result(job=job)

    def timer_disk_reduced(self, disk, job):
        path = self.disk_path(disk)
        if path and os.path.exists(path) and _qfmt(path) == "qcow2":
            proc = subprocess.run(["qemu-img", "check", "--output", "json", path], capture_output=True, text=True,
                                  check=False)
            try:
                end = int(json.loads(proc.stdout).get("image-end-offset") or 0)
            except ValueError:
                end = 0
            if end and end < os.path.getsize(path):
                os.truncate(path, end)
        self.timer_disk_ok(disk)
        self.end_job(job)

    # -- admin ------------------------------------------------------------------------------------
    def sim_transfers(self):
        out = []
        for t in self.store.list("imagetransfers"):
            x = self.store.x("imagetransfers", t.id)
            if x.get("ticket") and t.phase not in FINAL:
                self._sample(t.id)
            out.append({"id": t.id, "disk": x.get("disk"), "backup": x.get("backup"),
                        "snapshot": t.snapshot.id if t.snapshot is not None else None,
                        "direction": t.direction.value, "format": t.format.value, "backend": x.get("backend"),
                        "phase": t.phase.value, "bytes": int(x.get("bytes") or 0), "size": x.get("size"),
                        "relay_port": x.get("relay"), "error": x.get("error")})
        return out


def _qfmt(path):
    try:
        with open(path, "rb") as f:
            return "qcow2" if f.read(4) == b"QFI\xfb" else "raw"
    except OSError:
        return "raw"
