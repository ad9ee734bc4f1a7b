"""Data centers, clusters, storage domains (directories), disks (real qemu-img files), templates,
the OVF store used for disaster-recovery registration, networks, tags and affinity groups."""

import copy
import os
import shutil
import subprocess

from ovirtsdk4 import types as T
from ovirtsdk4.reader import Reader
from ovirtsdk4.writer import Writer

from .core import new_id
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
        path = os.path.join(self.state_dir, "storage", sd_id)
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
                    description=None, shareable=False):
        did, image_id = new_id(), new_id()
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
            elif backing:
                qemu_img("create", "-q", "-f", "qcow2", "-b", backing, "-F", _fmt_of(backing), path, str(size))
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
        qemu_img("create", "-q", "-f", "qcow2", "-b", old, "-F", _fmt_of(old), new)
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
        stored = self.create_disk(disk.alias or disk.name or "disk-%s" % new_id()[:8], disk.provisioned_size,
                                  sd.id, disk.format, sparse=disk.sparse is not False, description=disk.description,
                                  shareable=disk.shareable, locked_for=2)
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

    # -- OVF store and unregistered VMs (disaster recovery) --------------------------------------------
    def _vm_domains(self, vid):
        sds = []
        for att in self.store.list("vm_disk_attachments", vid):
            disk = self.store.get("disks", att.disk.id)
            if disk is not None and disk.storage_domains and disk.storage_domains[0].id not in sds:
                sds.append(disk.storage_domains[0].id)
        return sds

    def write_ovf(self, vid):
        """Write the VM's configuration (with NICs and disk attachments) into the OVF store of each
        storage domain holding its disks, as the Engine's OVF_STORE update does."""
        vm = self.store.get("vms", vid)
        if vm is None or self.lazy_images:
            return
        full = copy.copy(vm)
        full.nics = list(self.store.list("vm_nics", vid))
        full.disk_attachments = []
        for att in self.store.list("vm_disk_attachments", vid):
            a = copy.copy(att)
            a.disk = self.store.get("disks", att.disk.id)
            full.disk_attachments.append(a)
        data = Writer.write(full)
        for sd in self._vm_domains(vid):
            with open(os.path.join(self.sd_dir(sd), "ovf_store", vid + ".xml"), "w") as f:
                f.write(data)

    def remove_ovf(self, vid):
        root = os.path.join(self.state_dir, "storage")
        if os.path.isdir(root):
            for sd in os.listdir(root):
                path = os.path.join(root, sd, "ovf_store", vid + ".xml")
                if os.path.exists(path):
                    os.remove(path)

    def _unregistered(self, sid):
        folder = os.path.join(self.sd_dir(sid), "ovf_store")
        out = []
        for name in sorted(os.listdir(folder)):
            vid = name[:-4]
            if self.store.get("vms", vid) is None:
                with open(os.path.join(folder, name)) as f:
                    out.append(Reader.read(f.read()))
        return out

    def view_storagedomains_vms(self, sid, query):
        self.must("storagedomains", sid)
        if query.get("unregistered", "false").lower() == "true":
            out = []
            for vm in self._unregistered(sid):
                v = copy.copy(vm)
                v.nics = v.disk_attachments = None
                v.href = "/ovirt-engine/api/storagedomains/%s/vms/%s" % (sid, vm.id)
                out.append(v)
            return out
        return [render("vms", self.store.get("vms", vid)) for vid in
                {self.store.parent_of("vm_disk_attachments", d.id) for d in self.store.list("disks")
                 if d.storage_domains and d.storage_domains[0].id == sid} if vid and self.store.get("vms", vid)]

    def viewaction_storagedomains_vms_register(self, sid, vid, action, query):
        if self.store.get("vms", vid) is not None:
            raise conflict("Cannot import VM. VM with the same identifier already exists.")
        ovf = {vm.id: vm for vm in self._unregistered(sid)}.get(vid)
        if ovf is None:
            raise ApiError(404)
        cluster = self.resolve("clusters", action.cluster, "VM")
        if self.by_name("vms", ovf.name) is not None:
            raise conflict("Cannot import VM. The VM name is already in use.")
        missing = [a.disk.id for a in (ovf.disk_attachments or []) if self.store.get("disks", a.disk.id) is None
                   and not os.path.exists(self.store.x("disks", a.disk.id).get("path") or "/nonexistent")]
        vm = copy.copy(ovf)
        nics, atts = vm.nics or [], vm.disk_attachments or []
        vm.nics = vm.disk_attachments = None
        vm.cluster = ref("clusters", cluster.id)
        vm.status = T.VmStatus.DOWN
        vm.host = None
        self.store.put("vms", vm, extra={"gen": 0})
        for att in atts:
            disk = att.disk
            if self.store.get("disks", disk.id) is None:
                found = self._find_disk_file(sid, disk.id)
                if found is None:
                    continue
                self.store.put("disks", disk, extra={"path": found, "chain": [found]})
            self.store.put("vm_disk_attachments", T.DiskAttachment(
                id=disk.id, disk=ref("disks", disk.id), interface=att.interface, bootable=att.bootable, active=True,
                vm=ref("vms", vm.id)), parent=vm.id)
        for nic in nics:
            if action.reassign_bad_macs and any(n.mac and nic.mac and n.mac.address == nic.mac.address
                                                for n in self.store.list("vm_nics")):
                nic.mac = T.Mac(address=self._new_mac())
            self.store.put("vm_nics", nic, parent=vm.id)
        self._active_snapshot(vm.id)
        if missing and not action.allow_partial_import:
            self.emit(175, "VM %s has been imported from the given configuration but not all disks were "
                           "attached." % vm.name, "warning", vm=vm.id)
        self.emit(174, "VM %s has been successfully imported from the given configuration." % vm.name, vm=vm.id,
                  cluster=cluster.id)
        return self.action_result(vm=ref("vms", vm.id))

    def _find_disk_file(self, sid, did):
        folder = os.path.join(self.sd_dir(sid), "images", did)
        if not os.path.isdir(folder):
            return None
        files = sorted((os.path.join(folder, f) for f in os.listdir(folder)), key=os.path.getmtime)
        return files[-1] if files else None

    # -- templates ---------------------------------------------------------------------------------
    def add_templates(self, parent, tpl, query):
        base = None
        if tpl.version is not None:
            # a new version of a base template (BackendTemplatesResource.addTemplate → AddVmTemplateCommand with
            # baseTemplateId): it takes the base's name and the next version number of the chain
            if tpl.version.base_template is None:
                raise ApiError(400, "Template [version.baseTemplate] required for add", reason="Incomplete parameters")
            base = self.store.get("templates", tpl.version.base_template.id or "")
            if base is None:
                raise conflict("Cannot add Template. The relevant Template doesn't exist.")
            if base.id == self.BLANK_ID:
                raise conflict("Blank template can't have sub-templates.")
            if self.template_base_id(base) != base.id:
                raise conflict("Cannot add Template. Only the first template version can be selected as the base "
                               "template.")
        if not tpl.name and base is None:
            raise bad_request("Cannot add Template. The following field is required: name")
        if base is None and self.by_name("templates", tpl.name) is not None:
            raise conflict("Cannot add Template. The Template name is already in use, please choose a unique name "
                           "and try again.")
        vm = self.resolve("vms", tpl.vm, "Template")
        if vm.status != T.VmStatus.DOWN:
            raise conflict("Cannot add Template. VM is locked or still running, try again once VM is in the Down "
                           "state.")
        tid = new_id()
        if base is None:
            version = T.TemplateVersion(version_number=1, version_name=(tpl.version.version_name if tpl.version
                                                                        else None) or "base version",
                                        base_template=ref("templates", tid))
        else:
            number = max(t.version.version_number or 1 for t in self.template_chain(base.id)) + 1
            version = T.TemplateVersion(version_number=number, version_name=tpl.version.version_name,
                                        base_template=ref("templates", base.id))
        stored = T.Template(id=tid, name=base.name if base is not None else tpl.name,
                            description=tpl.description or "",
                            status=T.TemplateStatus.LOCKED, cluster=vm.cluster, creation_time=self.now_dt(),
                            memory=vm.memory, memory_policy=copy.deepcopy(vm.memory_policy), cpu=copy.deepcopy(vm.cpu),
                            os=copy.deepcopy(vm.os), type=vm.type, high_availability=copy.deepcopy(vm.high_availability),
                            stateless=vm.stateless, version=version, origin="ovirt")
        self.store.put("templates", stored)
        for att in self.store.list("vm_disk_attachments", vm.id):
            src = self.store.get("disks", att.disk.id)
            if src is None or not src.storage_domains:
                continue  # direct LUN disks stay with the VM
            disk = self.create_disk(src.alias, src.provisioned_size, src.storage_domains[0].id, src.format,
                                    copy_from=self.disk_path(src.id), locked_for=0)
            self.store.put("template_disk_attachments", T.DiskAttachment(
                id=disk.id, disk=ref("disks", disk.id), interface=att.interface, bootable=att.bootable, active=True,
                template=ref("templates", stored.id)), parent=stored.id)
        for nic in self.store.list("vm_nics", vm.id):
            self._store_nic(stored.id, T.Nic(name=nic.name, interface=nic.interface, vnic_profile=nic.vnic_profile),
                            "template_nics")
        self.emit(48, "Creation of Template %s from VM %s was initiated by admin@internal-authz." % (
            stored.name, vm.name), template=stored.id)
        self.schedule(float(self.tunables.get("template_seconds", 20)), "template_ok", template=stored.id)
        return render("templates", stored)

    def timer_template_ok(self, template):
        obj = self.store.get("templates", template)
        if obj is not None:
            obj.status = T.TemplateStatus.OK
            self.store.touch("templates", template)
            self.emit(49, "Creation of Template %s has been completed." % obj.name, template=template)
            if self.template_base_id(obj) != obj.id:
                self.update_vms_to_latest(obj)   # AddVmTemplateCommand.endDefaultOperations → UpdateVmVersion

    # -- template versions ------------------------------------------------------------------------------
    def template_base_id(self, tpl):
        v = tpl.version
        return v.base_template.id if v is not None and v.base_template is not None else tpl.id

    def template_chain(self, base_id):
        return [t for t in self.store.list("templates") if self.template_base_id(t) == base_id]

    def latest_template(self, tpl):
        """vmTemplateDao.getTemplateWithLatestVersionInChain"""
        chain = self.template_chain(self.template_base_id(tpl)) or [tpl]
        return max(chain, key=lambda t: (t.version.version_number or 1) if t.version else 1)

    def _template_out(self, tpl):
        out = render("templates", tpl)
        if out.version is None or out.version.base_template is None:   # a base template: it is its own base
            out.version = T.TemplateVersion(version_number=1, version_name="base version",
                                            base_template=ref("templates", tpl.id))
        return out

    def list_templates(self, parent, query):
        return [self._template_out(t) for t in self.store.list("templates")]

    def get_templates(self, parent, tid, query):
        return self._template_out(self.must("templates", tid))

    def update_templates(self, parent, tid, tpl, query):
        stored = self.must("templates", tid)
        if tpl.name and tpl.name != stored.name and self.template_base_id(stored) != stored.id:
            raise conflict("Cannot update the name of Sub-Templates, Only the Version name can be updated.")
        version_name = tpl.version.version_name if tpl.version is not None else None
        merge(stored, tpl, skip=("status", "vm", "cluster", "version"))
        if version_name is not None:
            stored.version.version_name = version_name
        self.store.touch("templates", tid)
        return self._template_out(stored)

    def remove_templates(self, parent, tid, query):
        tpl = self.must("templates", tid)
        if tid == self.BLANK_ID:
            raise conflict("Cannot delete Template. Removing the Blank Template is not allowed.")
        users = sorted(v.name for v in self.store.list("vms") if v.template is not None and v.template.id == tid)
        if users:
            raise conflict("Cannot delete Template. Template is being used by the following VMs: %s." % ", ".join(users))
        versions = [t for t in self.template_chain(tid) if t.id != tid]
        if versions:   # RemoveVmTemplateCommand: the lowest sub-version becomes the base of the others
            successor = min(versions, key=lambda t: t.version.version_number or 0)
            for t in versions:
                t.version.base_template = ref("templates", successor.id)
                self.store.touch("templates", t.id)
        for att in self.store.list("template_disk_attachments", tid):
            self.store.delete("template_disk_attachments", att.id)
            self.delete_disk(att.disk.id)
        for nic in self.store.list("template_nics", tid):
            self.store.delete("template_nics", nic.id)
        self.store.delete("templates", tid)
        self.emit(51, "Removal of Template %s has been completed." % tpl.name)

    # -- clusters, data centers, networks -------------------------------------------------------------
    def add_clusters(self, parent, cluster, query):
        if not cluster.name:
            raise bad_request("Cannot add Cluster. The following field is required: name")
        if self.by_name("clusters", cluster.name):
            raise conflict("Cannot create Cluster. Cluster name is already in use.")
        dc = self.resolve("datacenters", cluster.data_center, "Cluster")
        stored = self.new_cluster(cluster.name, dc.id)
        merge(stored, cluster, skip=("data_center",))
        self._check_scheduling_policy(stored)
        return render("clusters", stored)

    def _check_scheduling_policy(self, cluster):
        if cluster.scheduling_policy is not None:
            sp = self.resolve("schedulingpolicies", cluster.scheduling_policy, "Cluster")
            cluster.scheduling_policy = ref("schedulingpolicies", sp.id)

    def update_clusters(self, parent, cid, cluster, query):
        stored = self.must("clusters", cid)
        if cluster.name and cluster.name != stored.name and self.by_name("clusters", cluster.name):
            raise conflict("Cannot edit Cluster. Cluster name is already in use.")
        merge(stored, cluster, skip=("data_center", "affinity_groups"))
        self._check_scheduling_policy(stored)
        self.store.touch("clusters", cid)
        self.emit(811, "Host cluster %s was updated by admin@internal-authz." % stored.name, cluster=cid)
        return render("clusters", stored)

    def remove_clusters(self, parent, cid, query):
        cluster = self.must("clusters", cid)
        if any(h.cluster.id == cid for h in self.store.list("hosts")) or \
                any(v.cluster.id == cid for v in self.store.list("vms")):
            raise conflict("Cannot remove Cluster %s. Cluster is not empty." % cluster.name)
        self.store.delete("clusters", cid)

    def view_datacenters_clusters(self, dc_id, query):
        return [render("clusters", c) for c in self.store.list("clusters") if c.data_center.id == dc_id]

    def view_datacenters_networks(self, dc_id, query):
        return [render("networks", n) for n in self.store.list("networks") if n.data_center.id == dc_id]

    def view_networks_vnicprofiles(self, nid, query):
        return [render("vnicprofiles", p) for p in self.store.list("vnicprofiles") if p.network.id == nid]

    def default_network_filter(self):
        """The filter a new vNIC profile gets when none is given (EnableMACAntiSpoofingFilterRules)."""
        f = self.by_name("networkfilters", "vdsm-no-mac-spoofing")
        return ref("networkfilters", f.id) if f is not None else None

    def _vnic_filter(self, given, what):
        """<network_filter id=.../> names a filter; an empty <network_filter/> means none."""
        if not given.id and not given.name:
            return None
        for f in self.store.list("networkfilters"):
            if f.id == given.id or (not given.id and f.name == given.name):
                return ref("networkfilters", f.id)
        raise conflict("Cannot %s VM network interface profile. The specified network filter does not exist." % what)

    def _vnic_passthrough_check(self, prof, what):
        mode = prof.pass_through.mode if prof.pass_through is not None else None
        if mode == T.VnicPassThroughMode.ENABLED and (prof.port_mirroring or (
                prof.network_filter is not None and (prof.network_filter.id or prof.network_filter.name))):
            raise conflict("Cannot %s VM network interface profile. 'Port Mirroring', 'Qos' and 'Network Filter' are "
                           "not supported on passthrough profiles." % what)

    def add_vnicprofiles(self, parent, prof, query):
        if not prof.name:
            raise bad_request("Cannot add VM network interface profile. The following field is required: name")
        net = self.resolve("networks", prof.network, "VM network interface profile")
        if any(p.name == prof.name and p.network.id == net.id for p in self.store.list("vnicprofiles")):
            raise conflict("Cannot add VM network interface profile. The name is already in use.")
        self._vnic_passthrough_check(prof, "add")
        mode = (prof.pass_through.mode if prof.pass_through is not None else None) or T.VnicPassThroughMode.DISABLED
        if prof.network_filter is None:
            nf = None if mode == T.VnicPassThroughMode.ENABLED else self.default_network_filter()
        else:
            nf = self._vnic_filter(prof.network_filter, "add")
        stored = T.VnicProfile(id=new_id(), name=prof.name, description=prof.description or "",
                               comment=prof.comment or "", network=ref("networks", net.id),
                               pass_through=T.VnicPassThrough(mode=mode), port_mirroring=bool(prof.port_mirroring),
                               migratable=True if prof.migratable is None else bool(prof.migratable),
                               custom_properties=prof.custom_properties, network_filter=nf)
        return render("vnicprofiles", self.store.put("vnicprofiles", stored))

    def update_vnicprofiles(self, parent, pid, prof, query):
        stored = self.must("vnicprofiles", pid)
        if prof.name and prof.name != stored.name and any(
                p.name == prof.name and p.network.id == stored.network.id for p in self.store.list("vnicprofiles")):
            raise conflict("Cannot update VM network interface profile. The name is already in use.")
        self._vnic_passthrough_check(prof, "update")
        if prof.network_filter is not None:
            stored.network_filter = self._vnic_filter(prof.network_filter, "update")
        if prof.qos is not None and not prof.qos.id:
            stored.qos = None
        merge(stored, prof, skip=("network", "network_filter", "qos"))
        self.store.touch("vnicprofiles", pid)
        return render("vnicprofiles", stored)

    def add_networks(self, parent, net, query):
        if not net.name:
            raise bad_request("Cannot add Network. The following field is required: name")
        dc = self.resolve("datacenters", net.data_center, "Network")
        if any(n.name == net.name and n.data_center.id == dc.id for n in self.store.list("networks")):
            raise conflict("Cannot add Network. The name of the logical network '%s' is already used." % net.name)
        stored = T.Network(id=new_id(), name=net.name, description=net.description or "",
                           data_center=ref("datacenters", dc.id), vlan=net.vlan, mtu=net.mtu or 0, stp=False,
                           usages=net.usages if net.usages is not None else [T.NetworkUsage.VM], required=True)
        self.store.put("networks", stored)
        if T.NetworkUsage.VM in stored.usages:
            # AddNetworkCommand creates a vNIC profile of the same name for a VM network (vnic_profile_required).
            self.store.put("vnicprofiles", T.VnicProfile(
                id=new_id(), name=stored.name, description="", network=ref("networks", stored.id), port_mirroring=False,
                migratable=True, network_filter=self.default_network_filter(),
                pass_through=T.VnicPassThrough(mode=T.VnicPassThroughMode.DISABLED)))
        return render("networks", stored)

    def add_tags(self, parent, tag, query):
        if not tag.name:
            raise bad_request("Cannot add Tag. The following field is required: name")
        if self.by_name("tags", tag.name):
            raise conflict("Cannot add Tag. Tag name is already in use.")
        stored = T.Tag(id=new_id(), name=tag.name, description=tag.description or "")
        return render("tags", self.store.put("tags", stored))

    def remove_tags(self, parent, tid, query):
        self.must("tags", tid)
        for coll in ("vm_tags", "host_tags"):
            for key in [k for k, v in self.store.extra.get(coll, {}).items() if v.get("tag") == tid]:
                self.store.delete(coll, key)
        self.store.delete("tags", tid)

    # -- affinity groups -----------------------------------------------------------------------------
    def add_cluster_affinity_groups(self, cid, group, query):
        self.must("clusters", cid)
        if not group.name:
            raise bad_request("Cannot add Affinity Group. The following field is required: name")
        if any(g.name == group.name for g in self.store.list("cluster_affinity_groups", cid)):
            raise conflict("Cannot add Affinity Group. Affinity Group name already exists.")
        stored = T.AffinityGroup(id=new_id(), name=group.name, description=group.description or "",
                                 cluster=ref("clusters", cid), priority=group.priority or 1.0)
        merge(stored, group, skip=("cluster", "vms", "hosts"))
        _rules_enabled(stored, group)
        if stored.vms_rule is None:
            pos = True if group.positive is None else group.positive
            enf = bool(group.enforcing)
            stored.vms_rule = T.AffinityRule(enabled=True, positive=pos, enforcing=enf)
        if stored.hosts_rule is None:
            stored.hosts_rule = T.AffinityRule(enabled=False, positive=False, enforcing=False)
        stored.positive = stored.vms_rule.positive
        stored.enforcing = stored.vms_rule.enforcing
        stored.vms = [ref("vms", self.resolve("vms", v, "Affinity Group").id) for v in (group.vms or [])]
        stored.hosts = [ref("hosts", self.resolve("hosts", h, "Affinity Group").id) for h in (group.hosts or [])]
        self.store.put("cluster_affinity_groups", stored, parent=cid)
        return self._group_out(stored, cid)

    def update_cluster_affinity_groups(self, cid, gid, group, query):
        stored = self.must("cluster_affinity_groups", gid, cid)
        vms, hosts = group.vms, group.hosts
        group.vms = group.hosts = None
        merge(stored, group, skip=("cluster",))
        _rules_enabled(stored, group)
        if group.positive is not None or group.enforcing is not None:
            rule = stored.vms_rule or T.AffinityRule(enabled=True)
            if group.positive is not None:
                rule.positive = group.positive
            if group.enforcing is not None:
                rule.enforcing = group.enforcing
            stored.vms_rule = rule
        stored.positive, stored.enforcing = stored.vms_rule.positive, stored.vms_rule.enforcing
        if vms is not None:
            stored.vms = [ref("vms", self.resolve("vms", v, "Affinity Group").id) for v in vms]
        if hosts is not None:
            stored.hosts = [ref("hosts", self.resolve("hosts", h, "Affinity Group").id) for h in hosts]
        self.store.touch("cluster_affinity_groups", gid)
        return self._group_out(stored, cid)

    def _group_out(self, group, cid):
        """AffinityGroupMapper: both rules always complete, the VMs and hosts inline (ids) as well as linked."""
        import ovirtsdk4
        out = render("cluster_affinity_groups", group, cid)
        rules = []
        for given, default_enabled in ((group.vms_rule, True), (group.hosts_rule, False)):
            given = given or T.AffinityRule()
            enabled = (given.positive is not None or default_enabled) if given.enabled is None else given.enabled
            rules.append(T.AffinityRule(enabled=enabled, enforcing=bool(given.enforcing),
                                        positive=bool(given.positive)))
        out.vms_rule, out.hosts_rule = rules
        out.positive = rules[0].positive if rules[0].enabled else None
        out.enforcing = rules[0].enforcing
        for attr, coll in (("vms", "vms"), ("hosts", "hosts")):
            lst = ovirtsdk4.List("%s/%s" % (out.href, attr))
            lst.extend(ref(coll, r.id) for r in (getattr(group, attr) or []))
            setattr(out, attr, lst)
        return out

    def list_cluster_affinity_groups(self, cid, query):
        return [self._group_out(g, cid) for g in self.store.list("cluster_affinity_groups", cid)]

    def get_cluster_affinity_groups(self, cid, gid, query):
        return self._group_out(self.must("cluster_affinity_groups", gid, cid), cid)

    def _group(self, gid):
        group = self.store.get("cluster_affinity_groups", gid)
        if group is None:
            raise ApiError(404)
        return group, self.store.parent_of("cluster_affinity_groups", gid)

    def view_cluster_affinity_groups_vms(self, gid, query):
        group = self._group(gid)[0]
        return [render("vms", self.store.get("vms", v.id)) for v in (group.vms or []) if self.store.get("vms", v.id)]

    def viewadd_cluster_affinity_groups_vms(self, gid, vm, query):
        group = self._group(gid)[0]
        target = self.resolve("vms", vm, "Affinity Group")
        if any(v.id == target.id for v in (group.vms or [])):
            raise conflict("Cannot add VM to Affinity Group. VM is already a member.")
        group.vms = list(group.vms or []) + [ref("vms", target.id)]
        self.store.touch("cluster_affinity_groups", gid)
        return render("vms", target)

    def viewremove_cluster_affinity_groups_vms(self, gid, vid, query):
        group = self._group(gid)[0]
        if not any(v.id == vid for v in (group.vms or [])):
            raise ApiError(404)
        group.vms = [v for v in group.vms if v.id != vid]
        self.store.touch("cluster_affinity_groups", gid)

    def view_cluster_affinity_groups_hosts(self, gid, query):
        group = self._group(gid)[0]
        return [render("hosts", self.store.get("hosts", h.id)) for h in (group.hosts or [])]

    def viewadd_cluster_affinity_groups_hosts(self, gid, host, query):
        group = self._group(gid)[0]
        target = self.resolve("hosts", host, "Affinity Group")
        group.hosts = list(group.hosts or []) + [ref("hosts", target.id)]
        self.store.touch("cluster_affinity_groups", gid)
        return render("hosts", target)

    def viewremove_cluster_affinity_groups_hosts(self, gid, hid, query):
        group = self._group(gid)[0]
        group.hosts = [h for h in (group.hosts or []) if h.id != hid]
        self.store.touch("cluster_affinity_groups", gid)


def _rules_enabled(stored, given):
    """AffinityGroupMapper: a rule sent with a polarity and no ``enabled`` is enabled (positive or negative)."""
    for attr in ("vms_rule", "hosts_rule"):
        rule = getattr(given, attr)
        if rule is not None and rule.enabled is None and rule.positive is not None:
            getattr(stored, attr).enabled = True


def _actual(path):
    try:
        return os.stat(path).st_blocks * 512
    except OSError:
        return 0


def _fmt_of(path):
    with open(path, "rb") as f:
        return "qcow2" if f.read(4) == b"QFI\xfb" else "raw"
