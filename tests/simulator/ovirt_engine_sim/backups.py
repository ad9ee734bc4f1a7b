# SPDX-License-Identifier: GPL-3.0-or-later
"""Incremental backup: VM checkpoints and VM backups over real qcow2 persistent dirty bitmaps.

A checkpoint is a bitmap named by the checkpoint's id, enabled in the disk's active top volume, so every guest
write after it is recorded (imagedata.guest_write goes through qemu's block layer). Every checkpoint's bitmap stays
enabled: "changed since checkpoint C" is the union of C's bitmap over the volumes of the disk's chain.

A backup freezes each of its disks' active top T0 by adding a qcow2 overlay T1 (the disk continues on T1; the
enabled bitmaps are copied, empty, to T1 together with the new checkpoint's bitmap), so what a backup reads is the
point-in-time T0 with its chain. An incremental disk gets an export bitmap in T0: the union of the
``from_checkpoint_id`` bitmaps of the chain. Finalize commits T1 back into T0, merges T1's bitmaps into T0's and
removes the export bitmap. The Engine's three methods (StartVmBackupCommand/HybridBackupCommand) differ in what a
client sees: ``hybrid`` (VM up, cluster level >= 4.7, no ``legacy=true``) shows the auto-generated VM snapshot,
``legacy`` (VM up otherwise) shows scratch disks (content type backup_scratch), ``cold`` (VM down) neither.
``backup_export`` hands the image-transfer side what to read."""

import os
import xml.etree.ElementTree as ET

from ovirtsdk4 import types as T

from .core import new_id
from . import imagedata
from .imagedata import image_format, image_info
from .model import ApiError, bad_request, conflict, ref, render

S = T.VmStatus
P = T.BackupPhase
ACTIVE_PHASES = (P.INITIALIZING, P.STARTING, P.READY, P.FINALIZING)
AUTO_SNAPSHOT = "Auto-generated for Backup VM"     # StorageConstants.BACKUP_VM_AUTO_GENERATED_SNAPSHOT_DESCRIPTION
USER = "admin@internal-authz"


def _qemu_img(*args):
    from .storage import qemu_img   # storage imports vms; late import keeps the mixins independent
    return qemu_img(*args)


def bitmaps(path):
    """{name: enabled} of a qcow2 volume's persistent bitmaps (none for raw or missing files)."""
    if not path or not os.path.exists(path) or image_format(path) != "qcow2":
        return {}
    data = image_info(path).get("format-specific", {}).get("data", {})
    return {b["name"]: "auto" in b.get("flags", []) for b in data.get("bitmaps", [])}


def copy_enabled_bitmaps(old, new):
    """A new overlay keeps tracking what the old top tracked: its enabled bitmaps are added, empty, to ``new``."""
    present = bitmaps(new)
    for name, enabled in bitmaps(old).items():
        if enabled and name not in present:
            _qemu_img("bitmap", "--add", new, name)


def remove_bitmap(paths, name):
    for path in paths:
        if name in bitmaps(path):
            _qemu_img("bitmap", "--remove", path, name)


class BackupsMixin:
    # -- helpers --------------------------------------------------------------------------------------
    def vm_backup_active(self, vid):
        """The VM's backup that is not succeeded or failed (the Engine's isVmDuringBackup), or None."""
        for b in self.store.list("vm_backups", vid):
            if b.phase in ACTIVE_PHASES:
                return b
        return None

    def backup_guard(self, vm, action, type_="VM"):
        """ACTION_TYPE_FAILED_VM_IS_DURING_BACKUP for the commands that check it (Run, Stop unless forced,
        Migrate, Hibernate, Reboot, RemoveVm, RemoveSnapshot, DeleteVmCheckpoint, StartVmBackup)."""
        if self.vm_backup_active(vm.id) is not None:
            raise conflict("Cannot %s %s. The VM is during a backup operation." % (action, type_))

    def _backup_method(self, vm, query):
        if vm.status == S.DOWN:
            return "cold"
        cluster = self.store.get("clusters", vm.cluster.id)
        level = (cluster.version.major, cluster.version.minor) if cluster is not None and cluster.version else (4, 7)
        if query.get("legacy", "false").lower() == "true" or level < (4, 7):
            return "legacy"
        return "hybrid"

    def _chain_paths(self, did):
        x = self.store.x("disks", did)
        return [p for p in x.get("chain") or [x.get("path")] if p]

    # -- checkpoints ----------------------------------------------------------------------------------
    def list_vm_checkpoints(self, vid, query):
        self.must("vms", vid)
        return [render("vm_checkpoints", c, vid) for c in self.store.list("vm_checkpoints", vid)]

    def get_vm_checkpoints(self, vid, cid, query):
        return render("vm_checkpoints", self.must("vm_checkpoints", cid, vid), vid)

    def view_vm_checkpoints_disks(self, cid, query):
        ckpt = self.must("vm_checkpoints", cid)
        vid = self.store.parent_of("vm_checkpoints", cid)
        out = []
        for d in ckpt.disks or []:
            disk = self.store.get("disks", d.id)
            if disk is not None:
                view = render("disks", disk)
                view.href = "/ovirt-engine/api/vms/%s/checkpoints/%s/disks/%s" % (vid, cid, d.id)
                out.append(view)
        return out

    def remove_vm_checkpoints(self, vid, cid, query):
        """DeleteVmCheckpointCommand: any checkpoint of the chain; its bitmaps go from every volume of its disks,
        its child takes its parent."""
        vm = self.must("vms", vid)
        ckpt = self.store.get("vm_checkpoints", cid)
        if ckpt is None or self.store.parent_of("vm_checkpoints", cid) != vid:
            raise ApiError(404)
        self.backup_guard(vm, "remove", "checkpoint")
        for d in ckpt.disks or []:
            disk = self.store.get("disks", d.id)
            if disk is not None and disk.status == T.DiskStatus.LOCKED:
                raise conflict("Cannot remove checkpoint: The following disks are locked: %s. Please try again in a "
                               "few minutes." % disk.alias)
        self._drop_checkpoint(vid, ckpt)
        self.emit(10797, "Checkpoint %s for VM %s deleted (User: %s)." % (cid, vm.name, USER), vm=vid,
                  cluster=vm.cluster.id)

    def _drop_checkpoint(self, vid, ckpt):
        for d in ckpt.disks or []:
            if self.store.get("disks", d.id) is not None:
                remove_bitmap(self._chain_paths(d.id), ckpt.id)
        for child in self.store.list("vm_checkpoints", vid):
            if child.parent_id == ckpt.id:
                child.parent_id = ckpt.parent_id
                self.store.touch("vm_checkpoints", child.id)
        self.store.delete("vm_checkpoints", ckpt.id)

    def drop_all_checkpoints(self, vid):
        """DeleteAllVmCheckpoints: after a snapshot is restored or the bitmaps are lost, the next backup is full."""
        for ckpt in reversed(self.store.list("vm_checkpoints", vid)):
            self._drop_checkpoint(vid, ckpt)

    def lose_checkpoints(self, vm):
        """Fault ``checkpoint_lost``: the bitmaps are gone from the volumes (an unclean shutdown); the Engine drops
        the VM's checkpoints, so an incremental from one of them is refused and the next backup must be full."""
        for att in self.store.list("vm_disk_attachments", vm.id):
            for path in self._chain_paths(att.disk.id):
                for name in bitmaps(path):
                    if self.store.get("vm_checkpoints", name) is not None:
                        _qemu_img("bitmap", "--remove", path, name)
        self.drop_all_checkpoints(vm.id)

    # -- backups --------------------------------------------------------------------------------------
    def _backup_view(self, vid, b):
        out = render("vm_backups", b, vid)
        x = self.store.extra.get("vm_backups", {}).get(b.id, {})
        if not x.get("ready"):      # the Engine sets it on the entity once the host made the checkpoint
            out.to_checkpoint_id = None
        return out

    def list_vm_backups(self, vid, query):
        self.must("vms", vid)
        return [self._backup_view(vid, b) for b in self.store.list("vm_backups", vid)]

    def get_vm_backups(self, vid, bid, query):
        return self._backup_view(vid, self.must("vm_backups", bid, vid))

    def view_vm_backups_disks(self, bid, query):
        b = self.must("vm_backups", bid)
        vid = self.store.parent_of("vm_backups", bid)
        modes = self.store.x("vm_backups", bid).get("modes", {})
        out = []
        for d in b.disks or []:
            disk = self.store.get("disks", d.id)
            if disk is None:
                continue
            view = render("disks", disk)
            view.href = "/ovirt-engine/api/vms/%s/backups/%s/disks/%s" % (vid, bid, d.id)
            if b.phase in ACTIVE_PHASES and modes.get(d.id):
                view.backup_mode = T.DiskBackupMode(modes[d.id])
            out.append(view)
        return out

    def add_vm_backups(self, vid, backup, query):
        vm = self.must("vms", vid)
        what = "backup", "VM"
        if not backup.disks:
            raise bad_request("Cannot backup VM. The following field is required: disks")
        ids = [d.id for d in backup.disks]
        attached = {a.disk.id: a for a in self.store.list("vm_disk_attachments", vid)}
        missing = [i for i in ids if i not in attached or self.store.get("disks", i) is None]
        if missing:
            raise bad_request("Cannot %s %s. The following disk(s) ID(s) does not exist: %s." % (
                what + (", ".join(missing),)))
        disks = [self.store.get("disks", i) for i in ids]
        locked = [d.alias for d in disks if d.status == T.DiskStatus.LOCKED]
        if locked:
            raise conflict("Cannot %s %s: The following disks are locked: %s. Please try again in a few minutes." % (
                what + (", ".join(locked),)))
        inactive = [i for i in ids if attached[i].active is False]
        if inactive:
            raise conflict("Cannot %s %s. The following disks are not active on VM %s: %s" % (
                what + (vm.name, ", ".join(inactive))))
        from_ckpt = None
        if backup.from_checkpoint_id:
            from_ckpt = self.store.get("vm_checkpoints", backup.from_checkpoint_id)
            if from_ckpt is None or self.store.parent_of("vm_checkpoints", from_ckpt.id) != vid:
                raise bad_request("Cannot backup VM. Checkpoint ID %s doesn't exist." % backup.from_checkpoint_id)
            if from_ckpt.state == T.CheckpointState.INVALID:
                raise bad_request("Cannot backup VM. Checkpoint ID %s is invalid and should be removed." %
                                  backup.from_checkpoint_id)
        if vm.status not in (S.UP, S.DOWN):
            raise conflict("Cannot backup VM. The Virtual Machine should be in Up or Down status.")
        self._preview_check_backup(vm)
        self.backup_guard(vm, "backup")
        if backup.description is not None and len(backup.description) > 1024:
            raise bad_request("Cannot backup VM. The VM backup description shouldn't contain more than 1024 "
                              "characters.")
        if backup.id and self.store.get("vm_backups", backup.id) is not None:
            raise bad_request("Cannot backup VM. The specified VM backup ID %s already exists." % backup.id)
        method = self._backup_method(vm, query)
        bid = backup.id or new_id()
        now = self.now_dt()
        stored = T.Backup(id=bid, description=backup.description, creation_date=now, modification_date=now,
                          phase=P.INITIALIZING, from_checkpoint_id=from_ckpt.id if from_ckpt else None,
                          disks=[ref("disks", i) for i in ids], vm=ref("vms", vid),
                          host=ref("hosts", vm.host.id) if vm.host is not None and method != "cold" else None)
        incremental = [d.id for d in disks if d.backup == T.DiskBackup.INCREMENTAL]
        ckpt_id = new_id() if incremental else None
        stored.to_checkpoint_id = ckpt_id
        in_from = set(d.id for d in (from_ckpt.disks or [])) if from_ckpt else set()
        modes, vols, lost = {}, {}, False
        for disk in disks:
            full = from_ckpt is None or disk.id not in in_from
            if not full and from_ckpt.id not in bitmaps(self.disk_path(disk.id)):
                lost = True
            modes[disk.id] = "full" if full else "incremental"
        fault = self.take_fault("backup_failure", vm=vm.name)
        x = {"method": method, "modes": modes, "volumes": vols, "job": None, "checkpoint": ckpt_id,
             "checkpoint_disks": incremental, "fail": (fault.get("phase") or "starting") if fault else None,
             "scratch": [], "snapshot": None}
        self.store.put("vm_backups", stored, parent=vid, extra=x)
        x = self.store.x("vm_backups", bid)
        x["job"] = self.start_job("Backing up VM %s" % vm.name)
        self.emit(10790, "Backup %s for VM %s started (User: %s)." % (bid, vm.name, USER), vm=vid,
                  cluster=vm.cluster.id)
        if lost:   # StartVmBackupCommand.validateCheckpoint: a bitmap is missing on the host
            self.emit(10791, "Incremental backup %s for VM %s failed. Full backup is now needed (User: %s)." % (
                bid, vm.name, USER), "error", vm=vid, cluster=vm.cluster.id)
            self.drop_all_checkpoints(vid)
            self._backup_failed(vid, stored, announce=False)
            return self._backup_view(vid, stored)
        for disk in disks:
            vols[disk.id] = self._freeze(disk, bid, method, ckpt_id if disk.id in incremental else None,
                                         from_ckpt.id if modes[disk.id] == "incremental" else None)
        if method == "hybrid":
            snap = T.Snapshot(id=new_id(), description=AUTO_SNAPSHOT, snapshot_type=T.SnapshotType.REGULAR,
                              snapshot_status=T.SnapshotStatus.LOCKED, date=now, persist_memorystate=False,
                              vm=ref("vms", vid))
            self.store.put("vm_snapshots", snap, parent=vid,
                           extra={"images": {d: v["t0"] for d, v in vols.items()}, "backup": bid})
            x["snapshot"] = snap.id
            stored.snapshot = ref("vm_snapshots", snap.id, vid)
            self.emit(45, "Snapshot '%s' creation for VM '%s' was initiated by %s." % (AUTO_SNAPSHOT, vm.name, USER),
                      vm=vid, cluster=vm.cluster.id)
        elif method == "legacy":
            for disk in disks:
                self.emit(10799, "Scratch disk creation for VM %s backup %s disk %s started (User: %s)." % (
                    vm.name, bid, disk.id, USER), vm=vid, cluster=vm.cluster.id)
                scratch = self.create_disk("VM %s backup %s scratch disk for %s" % (vm.name, bid, disk.alias),
                                           disk.provisioned_size, disk.storage_domains[0].id, T.DiskFormat.COW,
                                           locked_for=0, description="Backup %s scratch disk" % bid)
                scratch.content_type = T.DiskContentType.BACKUP_SCRATCH
                self.store.touch("disks", scratch.id)
                x["scratch"].append(scratch.id)
                self.emit(10805, "Scratch disk creation for VM %s backup %s disk %s succeeded (User: %s)." % (
                    vm.name, bid, disk.id, USER), vm=vid, cluster=vm.cluster.id)
        self.store.touch("vm_backups", bid)
        self.schedule(self._backup_step(), "backup_step", vm=vid, backup=bid, step="starting")
        return self._backup_view(vid, stored)

    def _preview_check_backup(self, vm):
        for s in self.store.list("vm_snapshots", vm.id):
            if s.snapshot_status == T.SnapshotStatus.IN_PREVIEW:
                raise conflict("Cannot backup VM. VM is previewing a Snapshot.")

    def _backup_step(self):
        return float(self.tunables.get("backup_step_seconds", 1.0))

    def _freeze(self, disk, bid, method, ckpt_id, from_id):
        """Continue the disk on a new overlay T1; the backup reads T0. Returns the volume record."""
        x = self.store.x("disks", disk.id)
        chain = list(x.get("chain") or [x["path"]])
        t0 = x["path"]
        t1 = os.path.join(os.path.dirname(t0), new_id())
        _qemu_img("create", "-q", "-f", "qcow2", "-b", t0, "-F", image_format(t0), t1)
        # T0 keeps the checkpoints' bitmaps: the guest's writes to T1 meanwhile reach them when T1 is committed
        # back (qemu-img commit marks T0's enabled bitmaps), so nothing is copied per checkpoint. The new
        # checkpoint's bitmap is added to T0 just before that commit, so it holds exactly the writes since the start.
        tmp = None
        if from_id:
            tmp = "backup-%s" % bid
            _qemu_img("bitmap", "--add", "--disable", t0, tmp)
            for vol in chain:
                if from_id not in bitmaps(vol):
                    continue
                if vol == t0:
                    _qemu_img("bitmap", "--merge", from_id, t0, tmp)
                else:
                    _qemu_img("bitmap", "--merge", from_id, "-b", vol, "-F", image_format(vol), t0, tmp)
        x["path"] = t1
        x["chain"] = chain + [t1]
        rec = {"t0": t0, "t1": t1, "tmp": tmp, "image_id": disk.image_id}
        if method == "hybrid":
            disk.image_id = os.path.basename(t1)
        self.store.touch("disks", disk.id)
        return rec

    def _thaw(self, did, rec, keep_checkpoint):
        """Undo ``_freeze``: T1 goes back into T0 with its bitmaps (the new checkpoint's only if it is kept)."""
        disk = self.store.get("disks", did)
        if disk is None:
            return
        x = self.store.x("disks", did)
        t0, t1 = rec["t0"], rec["t1"]
        chain = [p for p in x.get("chain") or [] if p]
        if x.get("path") == t1 and os.path.exists(t1) and os.path.exists(t0):
            if keep_checkpoint and rec.get("checkpoint") and rec["checkpoint"] not in bitmaps(t0):
                _qemu_img("bitmap", "--add", t0, rec["checkpoint"])
            # the commit writes T1's clusters into T0 and marks them in every enabled bitmap of T0; a bitmap a
            # user snapshot put on T1 meanwhile (copy_enabled_bitmaps) is merged as well
            _qemu_img("commit", "-q", "-d", "-f", "qcow2", t1)
            for name, enabled in bitmaps(t1).items():
                if enabled and name in bitmaps(t0):
                    _qemu_img("bitmap", "--merge", name, "-b", t1, "-F", "qcow2", t0, name)
            os.remove(t1)
            x["path"] = t0
            x["chain"] = [p for p in chain if p != t1]
            disk.image_id = rec.get("image_id") or os.path.basename(t0)
        elif x.get("path") == t1:   # a crash took T1 away: the disk continues on T0
            x["path"] = t0
            x["chain"] = [p for p in chain if p != t1]
            disk.image_id = rec.get("image_id") or os.path.basename(t0)
        elif not keep_checkpoint and rec.get("checkpoint"):   # a user snapshot since: T1 stays in the chain
            remove_bitmap(chain, rec["checkpoint"])
        if rec.get("tmp") and os.path.exists(t0):
            remove_bitmap([t0], rec["tmp"])
        self.store.touch("disks", did)

    def _cleanup_backup(self, vid, b, keep_checkpoint):
        x = self.store.x("vm_backups", b.id)
        for did, rec in (x.get("volumes") or {}).items():
            rec = dict(rec, checkpoint=x.get("checkpoint") if did in (x.get("checkpoint_disks") or []) else None)
            self._thaw(did, rec, keep_checkpoint)
        x["volumes"] = {}
        for sid in x.get("scratch") or []:
            if self.store.get("disks", sid) is not None:
                self.delete_disk(sid)
        x["scratch"] = []
        snap_id = x.get("snapshot")
        vm = self.store.get("vms", vid)
        if snap_id and self.store.get("vm_snapshots", snap_id) is not None:
            self.store.delete("vm_snapshots", snap_id)
            if vm is not None:
                self.emit(342, "Snapshot '%s' deletion for VM '%s' has been completed." % (AUTO_SNAPSHOT, vm.name),
                          vm=vid, cluster=vm.cluster.id)
        self.store.touch("vm_backups", b.id)

    def _backup_failed(self, vid, b, announce=True, finalizing=False, unmonitored=False):
        vm = self.store.get("vms", vid)
        x = self.store.x("vm_backups", b.id)
        self._cleanup_backup(vid, b, keep_checkpoint=bool(x.get("ready")))
        b.phase = P.FAILED
        b.modification_date = self.now_dt()
        self.store.touch("vm_backups", b.id)
        if vm is not None and unmonitored:
            self.emit(10814, "Backup %s for VM %s was marked as failed since it is no longer monitored, cleanup may "
                             "be required." % (b.id, vm.name), "error", vm=vid, cluster=vm.cluster.id)
        elif vm is not None and announce:
            if finalizing:
                self.emit(10795, "Backup %s for VM %s failed to finalize (User: %s)." % (b.id, vm.name, USER),
                          "error", vm=vid, cluster=vm.cluster.id)
            self.emit(10792, "Backup %s for VM %s failed (User: %s)." % (b.id, vm.name, USER), "error", vm=vid,
                      cluster=vm.cluster.id)
        if x.get("job"):
            self.end_job(x["job"], ok=False)

    def timer_backup_step(self, vm, backup, step):
        b = self.store.get("vm_backups", backup)
        v = self.store.get("vms", vm)
        if b is None or v is None or b.phase not in ACTIVE_PHASES:
            return
        x = self.store.x("vm_backups", backup)
        if step == "starting":
            if x.get("snapshot") and self.store.get("vm_snapshots", x["snapshot"]) is not None:
                snap = self.store.get("vm_snapshots", x["snapshot"])
                snap.snapshot_status = T.SnapshotStatus.OK
                self.store.touch("vm_snapshots", snap.id)
                self.emit(68, "Snapshot '%s' creation for VM '%s' has been completed." % (AUTO_SNAPSHOT, v.name),
                          vm=vm, cluster=v.cluster.id)
            if x.get("fail") == "starting":
                self._backup_failed(vm, b)
                return
            b.phase = P.STARTING
            self.schedule(self._backup_step(), "backup_step", vm=vm, backup=backup, step="ready")
        elif step == "ready":
            b.phase = P.READY
            x["ready"] = True
            if x.get("checkpoint"):
                leaf = self._checkpoint_leaf(vm)
                self.store.put("vm_checkpoints", T.Checkpoint(
                    id=x["checkpoint"], parent_id=leaf.id if leaf else None, creation_date=self.now_dt(),
                    state=T.CheckpointState.CREATED, vm=ref("vms", vm),
                    disks=[ref("disks", d) for d in x.get("checkpoint_disks") or []]), parent=vm)
        elif step == "finalized":
            if x.get("fail") == "finalizing":
                self._backup_failed(vm, b, finalizing=True)
                return
            self._cleanup_backup(vm, b, keep_checkpoint=True)
            b.phase = P.SUCCEEDED
            self.emit(10793, "Backup %s for VM %s completed successfully (User: %s)." % (backup, v.name, USER),
                      vm=vm, cluster=v.cluster.id)
            if x.get("job"):
                self.end_job(x["job"])
        b.modification_date = self.now_dt()
        self.store.touch("vm_backups", backup)

    def _checkpoint_leaf(self, vid):
        ckpts = self.store.list("vm_checkpoints", vid)
        parents = set(c.parent_id for c in ckpts)
        leaves = [c for c in ckpts if c.id not in parents]
        return leaves[-1] if leaves else None

    def action_vm_backups_finalize(self, vid, bid, action, query):
        vm = self.must("vms", vid)
        b = self.store.get("vm_backups", bid)
        if b is None or self.store.parent_of("vm_backups", bid) != vid:
            raise bad_request("Cannot stop VM backup. The specified VM backup does not exist.")
        for t in self.store.list("imagetransfers"):
            if t.backup is not None and t.backup.id == bid and t.phase not in (
                    T.ImageTransferPhase.FINISHED_SUCCESS, T.ImageTransferPhase.FINISHED_FAILURE):
                raise conflict("Cannot stop VM backup. There is an active image transfer for VM backup")
        if b.phase in (P.FINALIZING, P.SUCCEEDED, P.FAILED):
            return self.action_result()     # StopVmBackupCommand: nothing left to stop
        if b.phase != P.READY:
            raise conflict("Cannot stop VM backup. The VM backup is not in READY phase, backup phase is %s." %
                           b.phase.value.upper())
        b.phase = P.FINALIZING
        b.modification_date = self.now_dt()
        self.store.touch("vm_backups", bid)
        self.emit(10794, "Backup %s for VM %s finalized (User: %s)." % (bid, vm.name, USER), vm=vid,
                  cluster=vm.cluster.id)
        self.schedule(self._backup_step(), "backup_step", vm=vid, backup=bid, step="finalized")
        return self.action_result()

    def backup_export(self, backup_id, disk_id):
        """What a download transfer of ``disk_id`` in backup ``backup_id`` reads: the frozen volume T0 (qcow2 with
        its chain) and, for an incremental disk, the bitmap that marks what changed since the checkpoint."""
        b = self.store.get("vm_backups", backup_id)
        if b is None:
            raise bad_request("Cannot transfer Virtual Disk. The specified VM backup does not exist.")
        if b.phase != P.READY:
            raise conflict("Cannot transfer Virtual Disk. The VM backup is not in READY phase, backup phase is %s." %
                           b.phase.value.upper())
        rec = (self.store.x("vm_backups", backup_id).get("volumes") or {}).get(disk_id)
        if rec is None:
            raise bad_request("Cannot transfer Virtual Disk. The following disk(s) ID(s) does not exist: %s." %
                              disk_id)
        return {"path": rec["t0"], "format": image_format(rec["t0"]), "bitmap": rec.get("tmp")}

    def recover_backups(self):
        """Start-up after a crash: a backup left mid-phase (initializing, starting, finalizing) with no timer to
        carry it on is failed (VM_BACKUP_FAILED_UNMONITORED) and cleaned up; ready backups stay ready."""
        failed = []
        for b in self.store.list("vm_backups"):
            if b.phase not in (P.INITIALIZING, P.STARTING, P.FINALIZING):
                continue
            if self.pending("backup_step", backup=b.id):
                continue
            vid = self.store.parent_of("vm_backups", b.id)
            self._backup_failed(vid, b, unmonitored=True)
            failed.append(b.id)
        return failed

    # -- admin API: what the guest does ---------------------------------------------------------------
    def _vm_disk(self, vm_name, disk_name):
        vm = self._target("vms", vm_name)
        for att in self.store.list("vm_disk_attachments", vm.id):
            disk = self.store.get("disks", att.disk.id)
            if disk is not None and disk_name in (disk.alias, disk.id):
                return vm, disk
        raise ApiError(404, "VM %s has no disk named '%s'" % (vm.name, disk_name))

    def sim_disk_write(self, vm_name, disk_name, data):
        """``POST /sim/vms/{vm}/disks/{disk}/write``: the guest writes ``length`` bytes of ``pattern`` at
        ``offset`` of the disk's active volume (a down VM under backup has no guest to write)."""
        vm, disk = self._vm_disk(vm_name, disk_name)
        if vm.status == S.DOWN and self.vm_backup_active(vm.id) is not None:
            raise conflict("VM %s is down and during a backup operation: nothing writes to its disks." % vm.name)
        path = self.disk_path(disk.id)
        try:
            imagedata.guest_write(path, data.get("offset", 0), data.get("length", 0), data.get("pattern", 0))
        except ValueError as err:
            raise bad_request(str(err))
        disk.actual_size = disk.total_size = os.stat(path).st_blocks * 512
        self.store.touch("disks", disk.id)
        return {"vm": vm.name, "disk": disk.alias, "id": disk.id, "offset": int(data.get("offset", 0)),
                "length": int(data.get("length", 0)), "pattern": int(data.get("pattern", 0))}

    def sim_disk_checksum(self, vm_name, disk_name):
        """``GET /sim/vms/{vm}/disks/{disk}/checksum``: sha256 of what the guest sees (the whole virtual size)."""
        _vm, disk = self._vm_disk(vm_name, disk_name)
        out = imagedata.guest_sha256(self.disk_path(disk.id))
        out.update({"disk": disk.alias, "id": disk.id})
        return out

    # -- a VM from its OVF (the restore of a backup's VM definition) ------------------------------------
    def add_vm_from_configuration(self, vm, query):
        """``POST /vms`` with ``initialization.configuration`` (BackendVmsResource.importVmFromConfiguration →
        ImportVmFromConfigurationCommand): the VM comes back with the OVF's identity (unless ``regenerate_ids``),
        named by ``vm.name`` if given, in the request's cluster; its NICs (names, MACs, vNIC profiles) are created;
        its disks are not: those that exist are attached, the others are reported (event 175). Synchronous."""
        from .jobs import incomplete
        conf = vm.initialization.configuration
        missing = [f for f, v in (("initialization.configuration.type", conf.type),
                                  ("initialization.configuration.data", conf.data)) if v is None]
        if missing:
            raise incomplete("Vm", missing)
        try:
            ovf = parse_ovf(conf.data.strip())
        except ET.ParseError as err:
            raise bad_request("Failed to parse the OVF configuration: %s" % err)
        cluster = self.resolve("clusters", vm.cluster, "VM")
        vid = ovf["id"] if ovf.get("id") and not vm.initialization.regenerate_ids else new_id()
        if self.store.get("vms", vid) is not None:
            raise conflict("Cannot import VM. VM with the same identifier already exists.")
        name = vm.name or ovf["name"]
        if not name:
            raise bad_request("Cannot import VM. The following field is required: name")
        if self.by_name("vms", name) is not None:
            raise conflict("Cannot import VM. The VM name is already in use.")
        topo = T.CpuTopology(sockets=ovf["sockets"], cores=ovf["cores"], threads=1)
        stored = T.Vm(id=vid, name=name, description=vm.description if vm.description is not None else
                      ovf["description"], comment="", cluster=ref("clusters", cluster.id),
                      template=ref("templates", self.BLANK_ID), original_template=ref("templates", self.BLANK_ID),
                      status=S.DOWN, creation_time=self.now_dt(), origin="ovirt", memory=ovf["memory"],
                      memory_policy=T.MemoryPolicy(guaranteed=ovf["memory"], max=4 * ovf["memory"]),
                      cpu=T.Cpu(topology=topo), os=T.OperatingSystem(type=ovf["os"]),
                      type=T.VmType.SERVER, stateless=False, delete_protected=False, run_once=False,
                      next_run_configuration_exists=False,
                      placement_policy=T.VmPlacementPolicy(affinity=T.VmAffinity.MIGRATABLE),
                      storage_error_resume_behaviour=T.VmStorageErrorResumeBehaviour.AUTO_RESUME,
                      console=T.Console(enabled=False))
        self.store.put("vms", stored, extra={"gen": 0, "graphics": ["spice"]})
        for nic in ovf["nics"]:
            prof = self._ovf_profile(nic["profile"], nic["network"])
            mac = nic["mac"] or self.allocate_mac(cluster.id)
            if vm.initialization.regenerate_ids or any(
                    n.mac is not None and n.mac.address == mac.lower() for n in self.store.list("vm_nics")):
                mac = self.allocate_mac(cluster.id)
            nid = nic["id"] if nic["id"] and not vm.initialization.regenerate_ids and \
                self.store.get("vm_nics", nic["id"]) is None else new_id()
            self.store.put("vm_nics", T.Nic(id=nid, name=nic["name"], interface=nic["interface"],
                                            mac=T.Mac(address=mac.lower()), plugged=True, linked=nic["linked"],
                                            vnic_profile=ref("vnicprofiles", prof.id) if prof else None,
                                            vm=ref("vms", vid)), parent=vid)
        failed = []
        for d in ovf["disks"]:
            disk = self.store.get("disks", d["id"])
            if disk is None or self.store.get("vm_disk_attachments", d["id"]) is not None:
                failed.append(d["alias"] or d["id"])
                continue
            self.store.put("vm_disk_attachments", T.DiskAttachment(
                id=disk.id, disk=ref("disks", disk.id), interface=d["interface"], bootable=d["boot"], active=True,
                pass_discard=False, read_only=False, uses_scsi_reservation=False, vm=ref("vms", vid)), parent=vid)
        self._active_snapshot(vid)
        if failed:
            self.emit(175, "VM %s has been imported from the given configuration but the following disk(s) failed "
                           "to attach: %s." % (name, ",".join(failed)), "warning", vm=vid, cluster=cluster.id)
        else:
            self.emit(174, "VM %s has been successfully imported from the given configuration." % name, vm=vid,
                      cluster=cluster.id)
        self.record("vm", vid, "down")
        self.write_ovf(vid)
        return render("vms", stored)

    def _ovf_profile(self, profile_name, network_name):
        nets = [n for n in self.store.list("networks") if n.name == network_name] if network_name else []
        for prof in self.store.list("vnicprofiles"):
            if prof.name == profile_name and (not nets or (prof.network and prof.network.id == nets[0].id)):
                return prof
        return None


_OVF = "http://schemas.dmtf.org/ovf/envelope/1/"
_RASD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_INTERFACES = {"IDE": T.DiskInterface.IDE, "VIRTIO": T.DiskInterface.VIRTIO, "VIRTIO_SCSI": T.DiskInterface.VIRTIO_SCSI,
               "SATA": T.DiskInterface.SATA, "SPAPR_VSCSI": T.DiskInterface.SPAPR_VSCSI}
_NIC_TYPES = {"0": T.NicInterface.RTL8139_VIRTIO, "1": T.NicInterface.RTL8139, "2": T.NicInterface.E1000,
              "3": T.NicInterface.VIRTIO, "4": T.NicInterface.SPAPR_VLAN, "5": T.NicInterface.PCI_PASSTHROUGH}


def parse_ovf(data):
    """The parts of an Engine OVF (OvfOvirtWriter) a VM is made from: identity, hardware, disks, NICs."""
    root = ET.fromstring(data)

    def o(name):
        return "{%s}%s" % (_OVF, name)

    def r(name):
        return "{%s}%s" % (_RASD, name)
    content = root.find("Content")
    out = {"id": None, "name": None, "description": "", "memory": 1 << 30, "sockets": 1, "cores": 1,
           "os": "other", "disks": [], "nics": []}
    if content is not None:
        out["name"] = content.findtext("Name")
        out["description"] = content.findtext("Description") or ""
        for sec in content.findall("Section"):
            kind = sec.get("{%s}type" % _XSI, "")
            if kind.endswith("OperatingSystemSection_Type"):
                out["id"] = sec.get(o("id"))
                out["os"] = sec.findtext("Description") or "other"
            elif kind.endswith("VirtualHardwareSection_Type"):
                for item in sec.findall("Item"):
                    rtype = item.findtext(r("ResourceType"))
                    if rtype == "3":
                        out["sockets"] = int(item.findtext(r("num_of_sockets")) or 1)
                        out["cores"] = int(item.findtext(r("cpu_per_socket")) or 1)
                    elif rtype == "4":
                        out["memory"] = int(item.findtext(r("VirtualQuantity")) or 1024) << 20
                    elif rtype == "10":
                        out["nics"].append({
                            "id": item.findtext(r("InstanceId")), "name": item.findtext(r("Name")),
                            "mac": item.findtext(r("MACAddress")) or None,
                            "profile": item.findtext(r("OtherResourceType")) or None,
                            "network": item.findtext(r("Connection")) or None,
                            "linked": (item.findtext(r("Linked")) or "true").lower() != "false",
                            "interface": _NIC_TYPES.get(item.findtext(r("ResourceSubType")) or "3",
                                                        T.NicInterface.VIRTIO)})
    for sec in root.findall("Section"):
        for disk in sec.findall("Disk"):
            ref_ = disk.get(o("fileRef")) or ""
            out["disks"].append({
                "id": ref_.split("/")[0], "image": disk.get(o("diskId")), "alias": disk.get(o("disk-alias")),
                "size": int(disk.get(o("provisioned-size")) or int(disk.get(o("size")) or 0) << 30),
                "format": disk.get(o("volume-format")), "boot": disk.get(o("boot"), "false").lower() == "true",
                "interface": _INTERFACES.get((disk.get(o("disk-interface")) or "VirtIO").upper(),
                                             T.DiskInterface.VIRTIO),
                "incremental": disk.get(o("incremental-backup"), "false").lower() == "true"})
    return out
