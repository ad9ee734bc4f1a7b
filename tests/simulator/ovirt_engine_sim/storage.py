# SPDX-License-Identifier: GPL-3.0-or-later
"""Storage domains (directories), disks (real qemu-img files) and the OVF store used for disaster-recovery
registration. Templates, clusters, networks and affinity groups have files of their own."""

import os
import shutil
import subprocess

from ovirtsdk4 import types as T

from .core import new_id
from .load import delta
from .model import ApiError, bad_request, conflict, merge, ref, render
from .vms import RUNNING, _own, _stat

GIB = 1 << 30


def qemu_img(*args):
    proc = subprocess.run(["qemu-img"] + list(args), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ApiError(500, "qemu-img %s failed: %s" % (args[0], proc.stderr.strip()))
    return proc.stdout


class StorageMixin:
    # -- storage domains ---------------------------------------------------------------------------
    def sd_dir(self, sd_id):
        """The domain's directory: ``<state dir>/storage/<id>``, or ``<export>/<id>`` for a domain on a real export
        (the DR seeds' replicated domains, imported domains: dr.py)."""
        x = self.store.extra.get("storagedomains", {}).get(sd_id) or {}
        path = x.get("dir") or os.path.join(self.state_dir, "storage", sd_id)
        os.makedirs(os.path.join(path, "images"), exist_ok=True)
        os.makedirs(os.path.join(path, "ovf_store"), exist_ok=True)
        return path

    def _sd_used(self, sd_id):
        used = committed = 0
        for disk in self.store.list("disks"):
            if disk.storage_domains and disk.storage_domains[0].id == sd_id:
                committed += disk.provisioned_size or 0
                used += disk.actual_size or 0
        return used, committed

    def decorate_sd(self, out, attached_view=False):
        used, committed = self._sd_used(out.id)
        total = self.store.x("storagedomains", out.id).get("capacity", 2048 * GIB)
        growth = (self.tunables.get("load") or {}).get("storage_domains", {}).get(out.name)
        if growth:   # load.py: percentage points of the capacity per month, on top of the disks
            cfg = dict(self.tunables["load"], clusters={"sd": {"storage": growth}}, weekly=0, noise=0)
            extra = int(total * delta(cfg, "sd", "storage", self.now()) / 100.0)
            used, committed = min(total, used + extra), committed + extra
        out.used = used
        out.available = max(0, total - used)
        out.committed = committed
        dc = self.store.x("storagedomains", out.id).get("data_center")
        if dc and not attached_view:
            out.status = None          # the Engine shows status only on the data center's view when attached
            out.data_centers = [ref("datacenters", dc)]
        elif not dc:
            out.status = T.StorageDomainStatus.UNATTACHED
        return out

    def list_storagedomains(self, parent, query):
        return [self.decorate_sd(render("storagedomains", s)) for s in self.store.list("storagedomains")]

    def get_storagedomains(self, parent, sid, query):
        return self.decorate_sd(render("storagedomains", self.must("storagedomains", sid)))

    def sd_status(self, sd_id):
        return T.StorageDomainStatus(self.store.x("storagedomains", sd_id).get("status", "active"))

    def _dc_sd_view(self, dc_id, sd):
        out = self.decorate_sd(render("storagedomains", sd), attached_view=True)
        out.href = "/ovirt-engine/api/datacenters/%s/storagedomains/%s" % (dc_id, sd.id)
        out.status = self.sd_status(sd.id)
        out.data_center = ref("datacenters", dc_id)
        return out

    def view_datacenters_storagedomains(self, dc_id, query):
        self.must("datacenters", dc_id)
        return [self._dc_sd_view(dc_id, sd) for sd in self.store.list("storagedomains")
                if self.store.x("storagedomains", sd.id).get("data_center") == dc_id]

    def viewget_datacenters_storagedomains(self, dc_id, sid, query):
        sd = self.must("storagedomains", sid)
        if self.store.x("storagedomains", sid).get("data_center") != dc_id:
            raise ApiError(404)
        return self._dc_sd_view(dc_id, sd)

    def viewadd_datacenters_storagedomains(self, dc_id, sd, query):
        dc = self.must("datacenters", dc_id)
        stored = self.resolve("storagedomains", sd, "Storage")
        x = self.store.x("storagedomains", stored.id)
        if x.get("data_center"):
            raise conflict("Cannot attach Storage. Storage Domain %s is already attached to a Data Center." % stored.name)
        hosts = [h for h in self.store.list("hosts") if h.status == T.HostStatus.UP and h.cluster is not None and
                 getattr(self.store.get("clusters", h.cluster.id), "data_center", None) is not None and
                 self.store.get("clusters", h.cluster.id).data_center.id == dc_id]
        if not hosts:
            raise conflict("Cannot attach Storage. There is no active Host in the Data Center.")
        master = self.dc_master(dc_id)
        if stored.type == T.StorageDomainType.DATA:
            if master is None:
                stored.master = True
        elif master is None:
            raise conflict("Cannot attach Storage. The Data Center must have an active master Data Domain before "
                           "other Storage Domains can be attached.")
        x["data_center"] = dc_id
        x["status"] = "locked"
        self.store.touch("storagedomains", stored.id)
        self.emit(962, "Storage Domain %s was attached to Data Center %s by admin@internal-authz" % (
            stored.name, dc.name), storage_domain=stored.id, data_center=dc_id)
        self.dc_refresh_status(dc_id)
        self.schedule(float(self.tunables.get("sd_attach_seconds", 10)), "sd_attached", sd=stored.id, dc=dc_id)
        return self._dc_sd_view(dc_id, stored)

    def timer_sd_attached(self, sd, dc):
        obj = self.store.get("storagedomains", sd)
        x = self.store.x("storagedomains", sd)
        if obj is None or x.get("data_center") != dc or x.get("status") != "locked":
            return
        x["status"] = "active"
        self.store.touch("storagedomains", sd)
        self.emit(966, "Storage Domain %s (Data Center %s) was activated by admin@internal-authz" % (
            obj.name, self.store.get("datacenters", dc).name), storage_domain=sd, data_center=dc)
        self.dc_refresh_status(dc)
        if obj.type == T.StorageDomainType.DATA:
            self.load_unregistered(sd)     # dr.py: the OVF store's VMs and templates this Engine does not know
            self.write_sd_metadata(sd)

    def viewremove_datacenters_storagedomains(self, dc_id, sid, query):
        sd = self.must("storagedomains", sid)
        x = self.store.x("storagedomains", sid)
        if x.get("data_center") != dc_id:
            raise ApiError(404)
        if x.get("status") != "maintenance":
            raise conflict("Cannot detach Storage. Storage Domain %s must be in maintenance." % sd.name)
        if sd.master and len(self._dc_domains(dc_id)) > 1:
            raise conflict("Cannot detach Storage. The master Storage Domain can be detached only when it is the last "
                           "Storage Domain of the Data Center.")
        x.pop("data_center", None)
        x["status"] = "unattached"
        sd.master = False
        self.forget_domain_entities(sid)   # dr.py: its VMs and templates leave the database, their OVFs stay
        self.store.touch("storagedomains", sid)
        self.emit(964, "Storage Domain %s was detached from Data Center %s by admin@internal-authz" % (
            sd.name, self.store.get("datacenters", dc_id).name), storage_domain=sid, data_center=dc_id)
        self.dc_refresh_status(dc_id)

    def _sd_status_action(self, dc_id, sid, status, code, text):
        sd = self.must("storagedomains", sid)
        x = self.store.x("storagedomains", sid)
        if x.get("data_center") != dc_id:
            raise ApiError(404)
        x["status"] = status
        self.store.touch("storagedomains", sid)
        self.emit(code, "Storage Domain %s %s." % (sd.name, text), storage_domain=sid, data_center=dc_id)
        return self.action_result()

    def viewaction_datacenters_storagedomains_activate(self, dc_id, sid, action, query):
        sd = self.must("storagedomains", sid)
        x = self.store.x("storagedomains", sid)
        if x.get("data_center") != dc_id:
            raise ApiError(404)
        if x.get("status") == "active":
            raise conflict("Cannot activate Storage. The Storage Domain is already active.")
        master = self.dc_master(dc_id)
        if sd.type == T.StorageDomainType.DATA and (master is None or (
                master.id != sid and self.sd_status(master.id) != T.StorageDomainStatus.ACTIVE)):
            if master is not None:
                master.master = False
                self.store.touch("storagedomains", master.id)
            sd.master = True       # reconstruct: the activated data domain becomes the master
        out = self._sd_status_action(dc_id, sid, "active", 966, "was activated")
        self.dc_refresh_status(dc_id)
        return out

    def viewaction_datacenters_storagedomains_deactivate(self, dc_id, sid, action, query):
        sd = self.must("storagedomains", sid)
        x = self.store.x("storagedomains", sid)
        if x.get("data_center") != dc_id:
            raise ApiError(404)
        if x.get("status") != "active":
            raise conflict("Cannot deactivate Storage. The Storage Domain's status is %s." % x.get("status"))
        running = sorted(vm.name for vm in self.store.list("vms") if vm.status in RUNNING and sid in
                         self._vm_domains(vm.id))
        if running:
            raise conflict("Cannot deactivate Storage. The following VMs are running and have disks on the Storage "
                           "Domain: %s." % ", ".join(running))
        if sd.type == T.StorageDomainType.DATA and not self.lazy_images:
            self.update_ovf_store(sid)     # DeactivateStorageDomainWithOvfUpdate: the OVF store is written first
        if sd.master:
            others = [o for o in self._dc_domains(dc_id) if o.id != sid and self.sd_status(o.id) ==
                      T.StorageDomainStatus.ACTIVE]
            data = [o for o in others if o.type == T.StorageDomainType.DATA]
            if others and not data:
                raise conflict("Cannot deactivate a Master Storage Domain while there are active non-data domains in "
                               "the Data Center. Please deactivate all the non-data domains first.")
            if data:                       # the master moves to another active data domain
                sd.master = False
                data[0].master = True
                self.store.touch("storagedomains", data[0].id)
                self.emit(984, "Reconstruct Master Domain for Data Center %s completed." % self.store.get(
                    "datacenters", dc_id).name, data_center=dc_id, storage_domain=data[0].id)
        out = self._sd_status_action(dc_id, sid, "maintenance", 968, "was deactivated")
        self.dc_refresh_status(dc_id)
        return out

    def check_vm_storage(self, vm, what):
        for att in self.store.list("vm_disk_attachments", vm.id):
            disk = self.store.get("disks", att.disk.id)
            if disk is None or not disk.storage_domains:
                continue
            sd_id = disk.storage_domains[0].id
            if self.sd_status(sd_id) != T.StorageDomainStatus.ACTIVE:
                sd = self.store.get("storagedomains", sd_id)
                raise conflict("Cannot %s VM. Storage Domain %s is not active." % (what, sd.name if sd else sd_id))

    # -- disks --------------------------------------------------------------------------------------
    def disk_path(self, disk_id):
        return self.store.x("disks", disk_id).get("path")

    def create_disk(self, alias, size, sd_id, fmt, backing=None, copy_from=None, sparse=True, locked_for=2,
                    description=None, shareable=False, did=None):
        did, image_id = did or new_id(), new_id()
        folder = os.path.join(self.sd_dir(sd_id), "images", did)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, image_id)
        fmt = fmt or T.DiskFormat.COW
        qfmt = "qcow2" if fmt == T.DiskFormat.COW else "raw"
        if self.lazy_images:
            path_ready = False
        else:
            path_ready = True
            if copy_from:
                qemu_img("convert", "-O", qfmt, copy_from, path)
            elif backing:     # relative within the domain, as vdsm writes chains (the replica stays consistent)
                rel = os.path.relpath(backing, folder) if _same_domain(backing, folder) else backing
                qemu_img("create", "-q", "-f", "qcow2", "-b", rel, "-F", _fmt_of(backing), path, str(size))
                fmt, qfmt = T.DiskFormat.COW, "qcow2"
            else:
                qemu_img("create", "-q", "-f", qfmt, path, str(size))
        disk = T.Disk(id=did, alias=alias, name=alias, description=description or "", provisioned_size=size,
                      actual_size=_actual(path) if path_ready else 0, total_size=_actual(path) if path_ready else 0,
                      format=fmt, sparse=bool(sparse), status=T.DiskStatus.LOCKED if locked_for else T.DiskStatus.OK,
                      storage_type=T.DiskStorageType.IMAGE, content_type=T.DiskContentType.DATA,
                      shareable=bool(shareable), wipe_after_delete=False, propagate_errors=False,
                      image_id=image_id, qcow_version=T.QcowVersion.QCOW2_V3 if qfmt == "qcow2" else None,
                      backup=T.DiskBackup.NONE, storage_domains=[ref("storagedomains", sd_id)])
        self.store.put("disks", disk, extra={"path": path, "chain": [path]})
        if locked_for:
            self.schedule(locked_for, "disk_ok", disk=did)
        return disk

    def timer_disk_ok(self, disk):
        obj = self.store.get("disks", disk)
        if obj is not None and obj.status == T.DiskStatus.LOCKED:
            obj.status = T.DiskStatus.OK
            path = self.disk_path(disk)
            if path and os.path.exists(path):
                obj.actual_size = obj.total_size = _actual(path)
            self.store.touch("disks", disk)

    def snapshot_disk(self, disk_id):
        """Freeze the disk's active image and continue on a new qcow2 overlay (a real chain)."""
        x = self.store.x("disks", disk_id)
        disk = self.store.get("disks", disk_id)
        old = x.get("path")
        if not old or not os.path.exists(old):
            return old
        new = os.path.join(os.path.dirname(old), new_id())
        qemu_img("create", "-q", "-f", "qcow2", "-b", os.path.basename(old), "-F", _fmt_of(old), new)
        if disk.backup == T.DiskBackup.INCREMENTAL:
            from .backups import copy_enabled_bitmaps
            copy_enabled_bitmaps(old, new)   # the checkpoints keep tracking on the new top volume
        x["path"] = new
        x.setdefault("chain", [old]).append(new)
        disk.format = T.DiskFormat.COW
        disk.image_id = os.path.basename(new)
        self.store.touch("disks", disk_id)
        return old

    def _add_lun_disk(self, disk):
        """A direct LUN disk: no image, no storage domain; the LUN is the disk."""
        lus = disk.lun_storage.logical_units or []
        if disk.lun_storage.type is None or not lus or not lus[0].id:
            raise bad_request("Cannot add Virtual Disk. The following fields are required: lun_storage.type, "
                              "lun_storage.logical_units.id")
        for other in self.store.list("disks"):
            if other.lun_storage is not None and any(lu.id == lus[0].id for lu in other.lun_storage.logical_units or []):
                raise conflict("Cannot add Virtual Disk. The provided LUN is already in use by Disk %s." % other.alias)
        lun = T.LogicalUnit(id=lus[0].id, address=lus[0].address, port=lus[0].port, target=lus[0].target,
                            size=lus[0].size or 100 * GIB, lun_mapping=lus[0].lun_mapping)
        stored = T.Disk(id=new_id(), alias=disk.alias or disk.name, name=disk.alias or disk.name,
                        description=disk.description or "", storage_type=T.DiskStorageType.LUN,
                        lun_storage=T.HostStorage(type=disk.lun_storage.type, logical_units=[lun]),
                        provisioned_size=lun.size, status=T.DiskStatus.OK, shareable=bool(disk.shareable),
                        content_type=T.DiskContentType.DATA, propagate_errors=False, wipe_after_delete=False,
                        sgio=disk.sgio)
        self.store.put("disks", stored)
        return stored

    def add_disks(self, parent, disk, query, raw=False):
        if disk.lun_storage is not None:
            stored = self._add_lun_disk(disk)
            return stored if raw else render("disks", stored)
        if not disk.provisioned_size:
            raise bad_request("Cannot add Virtual Disk. The following field is required: provisioned_size")
        if not disk.storage_domains:
            raise bad_request("Cannot add Virtual Disk. The following field is required: storage_domains")
        if disk.format is None:
            raise bad_request("Cannot add Virtual Disk. The following field is required: format")
        sd = self.resolve("storagedomains", disk.storage_domains[0], "Virtual Disk")
        if self.sd_status(sd.id) != T.StorageDomainStatus.ACTIVE:
            raise conflict("Cannot add Virtual Disk. Storage Domain %s is not active." % sd.name)
        used = self._sd_used(sd.id)[0]
        if not disk.sparse and disk.provisioned_size > self.store.x("storagedomains", sd.id).get(
                "capacity", 2048 * GIB) - used:
            raise conflict("Cannot add Virtual Disk. Low disk space on Storage Domain %s." % sd.name)
        if disk.format == T.DiskFormat.RAW and disk.sparse is None:
            disk.sparse = True
        if disk.format == T.DiskFormat.RAW and disk.backup == T.DiskBackup.INCREMENTAL:
            # ImagesHandler.checkImageConfiguration: RAW volumes cannot carry the checkpoints' bitmaps
            raise conflict("Cannot add Virtual Disk. Disk configuration (RAW %s backup-Incremental) is incompatible "
                           "with the storage domain type." % ("Sparse" if disk.sparse else "Preallocated"))
        if disk.id is not None and self.store.get("disks", disk.id) is not None:
            # AddDiskCommand with a given image group id (what uploads of OVA disks and restores use)
            raise conflict("Cannot add Virtual Disk. The Disk ID is already in use.")
        stored = self.create_disk(disk.alias or disk.name or "disk-%s" % new_id()[:8], disk.provisioned_size,
                                  sd.id, disk.format, sparse=disk.sparse is not False, description=disk.description,
                                  shareable=disk.shareable, locked_for=2, did=disk.id)
        stored.backup = disk.backup or T.DiskBackup.NONE
        self.emit(2020, "Add-Disk operation of '%s' was initiated by admin@internal-authz." % stored.alias,
                  storage_domain=sd.id)
        return stored if raw else render("disks", stored)

    def update_disks(self, parent, did, disk, query):
        stored = self.must("disks", did)
        if disk.provisioned_size is not None and disk.provisioned_size < (stored.provisioned_size or 0):
            raise bad_request("Cannot edit Virtual Disk. New disk size must be larger than the current disk size.")
        if disk.provisioned_size is not None and disk.provisioned_size > (stored.provisioned_size or 0):
            path = self.disk_path(did)
            if path and os.path.exists(path):
                qemu_img("resize", "-q", "-f", _fmt_of(path), path, str(disk.provisioned_size))
        if disk.backup == T.DiskBackup.INCREMENTAL and stored.format == T.DiskFormat.RAW:
            raise bad_request("Cannot edit Virtual Disk. Incremental backup is not supported for RAW format disks.")
        if disk.alias and not disk.name:
            disk.name = disk.alias
        merge(stored, disk, skip=("status", "storage_domains", "format", "actual_size", "image_id", "storage_type"))
        self.store.touch("disks", did)
        return render("disks", stored)

    def remove_disks(self, parent, did, query):
        disk = self.must("disks", did)
        if self.store.get("vm_disk_attachments", did) is not None:
            vid = self.store.parent_of("vm_disk_attachments", did)
            vm = self.store.get("vms", vid)
            if vm is not None and vm.status in RUNNING:
                raise conflict("Cannot remove Virtual Disk. VM %s is running." % vm.name)
            self.store.delete("vm_disk_attachments", did)
        if disk.status == T.DiskStatus.LOCKED:
            raise conflict("Cannot remove Virtual Disk. Disk %s is locked." % disk.alias)
        self.delete_disk(did)

    def delete_disk(self, did):
        disk = self.store.get("disks", did)
        path = self.disk_path(did)
        if path:
            shutil.rmtree(os.path.dirname(path), ignore_errors=True)
        self.store.delete("disks", did)
        if disk is not None:
            self.emit(2014, "Disk %s was successfully removed." % disk.alias)

    def view_disks_statistics(self, did, query):
        disk = self.must("disks", did)
        sd = disk.storage_domains[0].id if disk.storage_domains else None
        base = float(self.store.x("storagedomains", sd).get("latency_ms", 0.8)) / 1000.0 if sd else 0.0008
        stats = [_stat("data.current.read", "Read data rate", 0, "bytes_per_second", "integer"),
                 _stat("data.current.write", "Write data rate", 0, "bytes_per_second", "integer"),
                 _stat("disk.read.latency", "Read latency", base, "seconds"),
                 _stat("disk.write.latency", "Write latency", base * 1.3, "seconds"),
                 _stat("disk.flush.latency", "Flush latency", base * 0.5, "seconds")]
        return [_own(s, "disks", did) for s in stats]

    def action_disks_sparsify(self, parent, did, action, query):
        disk = self.must("disks", did)
        if disk.status == T.DiskStatus.LOCKED:
            raise conflict("Cannot sparsify Virtual Disk. Disk %s is locked. Please try again in a few minutes."
                           % disk.alias)
        vid = self.store.parent_of("vm_disk_attachments", did) if self.store.get("vm_disk_attachments", did) else None
        vm = self.store.get("vms", vid) if vid else None
        if vm is not None and vm.status != T.VmStatus.DOWN:
            raise conflict("Cannot sparsify Virtual Disk. VM %s must be down." % vm.name)
        if disk.sparse is False:
            raise conflict("Cannot sparsify Virtual Disk. Disk %s is preallocated." % disk.alias)
        disk.status = T.DiskStatus.LOCKED
        self.store.touch("disks", did)
        job = self.start_job("Sparsifying Disk %s" % disk.alias)
        self.schedule(2, "disk_ok", disk=did)
        self.schedule(2, "end_job", job=job)
        return self.action_result(job=job)

    def viewremove_storagedomains_disks(self, sid, did, query):
        disk = self.must("disks", did)
        if not disk.storage_domains or disk.storage_domains[0].id != sid:
            raise ApiError(404)
        self.remove_disks(None, did, query)

    def viewget_storagedomains_disks(self, sid, did, query):
        disk = self.must("disks", did)
        if not disk.storage_domains or disk.storage_domains[0].id != sid:
            raise ApiError(404)
        out = render("disks", disk)
        out.href = "/ovirt-engine/api/storagedomains/%s/disks/%s" % (sid, did)
        return out

    def view_storagedomains_disks(self, sid, query):
        self.must("storagedomains", sid)
        return [render("disks", d) for d in self.store.list("disks")
                if d.storage_domains and d.storage_domains[0].id == sid]


def _actual(path):
    try:
        return os.stat(path).st_blocks * 512
    except OSError:
        return 0


def _same_domain(path, folder):
    """Whether an image path lies in the same domain's ``images`` directory as ``folder`` (images/<disk id>)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(path))) == os.path.dirname(os.path.abspath(folder))


def _fmt_of(path):
    with open(path, "rb") as f:
        return "qcow2" if f.read(4) == b"QFI\xfb" else "raw"
