# SPDX-License-Identifier: GPL-3.0-or-later
"""A disk's volume chain (``/disks/{id}/disksnapshots``) and exports of VMs and templates as OVA files to a
directory on a host (ExportVmToOvaCommand / ExportVmTemplateToOvaCommand: a tar with the OVF first, then the disks
as qcow2, written by the ovirt-ova-pack role on the host)."""

import io
import os
import subprocess
import tarfile
import tempfile

from ovirtsdk4 import types as T

from .jobs import incomplete
from .model import conflict, ref


def _bool(query, name):
    return (query.get(name) or "").lower() == "true"


class OvaMixin:
    # -- disk snapshots --------------------------------------------------------------------------------
    def view_disks_disksnapshots(self, did, query):
        """The disk's images, oldest first: the ones that belong to VM snapshots, the active one with
        ``include_active=true`` (BackendDiskSnapshotsResource / GetAllDiskSnapshotsByDiskIdQuery)."""
        disk = self.must("disks", did)
        x = self.store.x("disks", did)
        chain = [p for p in x.get("chain") or [x.get("path")] if p and os.path.exists(p)]
        owners = {}
        vid = self.store.parent_of("vm_disk_attachments", did)
        for snap in self.store.list("vm_snapshots", vid) if vid else []:
            img = self.store.x("vm_snapshots", snap.id).get("images", {}).get(did)
            if img:
                owners[img] = snap
        active = x.get("path")
        out, parent = [], None
        for path in chain:
            image_id = os.path.basename(path)
            if path == active and not _bool(query, "include_active"):
                continue
            snap = owners.get(path)
            if snap is None and vid and path == active:
                snap = next((s for s in self.store.list("vm_snapshots", vid)
                             if s.snapshot_type == T.SnapshotType.ACTIVE), None)
            item = T.DiskSnapshot(
                id=image_id, alias=disk.alias, name=disk.alias, description=disk.description,
                provisioned_size=disk.provisioned_size, actual_size=_size(path), total_size=_size(path),
                format=T.DiskFormat.COW if _is_qcow(path) else T.DiskFormat.RAW, status=T.DiskStatus.OK,
                storage_type=disk.storage_type, content_type=disk.content_type, sparse=disk.sparse,
                disk=ref("disks", did), image_id=image_id, storage_domains=disk.storage_domains,
                snapshot=ref("vm_snapshots", snap.id, vid) if snap is not None else None,
                parent=T.DiskSnapshot(id=parent) if parent else None)
            sd_id = disk.storage_domains[0].id if disk.storage_domains else None
            item.href = "/ovirt-engine/api/storagedomains/%s/disksnapshots/%s" % (sd_id, image_id)
            out.append(item)
            parent = image_id
        return out

    # -- OVA export ----------------------------------------------------------------------------------
    def host_dir(self, host_name):
        """What the simulator keeps of a host's file system: ``<state-dir>/hosts/<host-name>/``."""
        return os.path.join(self.state_dir, "hosts", host_name)

    def _ova_checks(self, kind, entity, cluster_id, action):
        what = "Cannot export %s." % ("VM" if kind == "vm" else "Template")
        if action.host is None or (action.host.id is None and action.host.name is None):
            raise conflict("%s No host specified to serve as proxy." % what)
        host = self.resolve("hosts", action.host, "VM")
        if host.status != T.HostStatus.UP:
            raise conflict("%s Operation can be performed only when Host status is Up." % what)
        cluster = self.store.get("clusters", cluster_id) if cluster_id else None
        hcluster = self.store.get("clusters", host.cluster.id) if host.cluster else None
        dc_id = cluster.data_center.id if cluster is not None and cluster.data_center else None
        dc = self.store.get("datacenters", dc_id) if dc_id else None
        if dc is None:
            raise conflict("Data Center doesn't exist.")
        if getattr(dc.status, "value", dc.status) != "up":
            raise conflict("%s Unknown Data Center status." % what)
        if hcluster is None or hcluster.data_center is None or hcluster.data_center.id != dc_id:
            raise conflict("%s Proxy host and virtual machine do not reside at the same data center." % what)
        directory = (action.directory or "").rstrip("/") or ("/" if action.directory else "")
        if not directory.startswith("/"):
            raise conflict("%s Invalid target folder: %s on Host %s. You may refer to the engine.log file for "
                           "further details." % (what, action.directory, host.name))
        name = action.filename or "%s.ova" % entity.name
        return host, directory, name

    def _refuse_export_domain(self, action, label):
        """An export without host and directory goes to an export storage domain (BackendVmResource.export,
        BackendTemplateResource.export): none exist in the simulator."""
        if action.storage_domain is None:
            raise incomplete("Action", ["storageDomain.id|name"], "export")
        self.resolve("storagedomains", action.storage_domain, label)
        raise conflict("Cannot export %s. The target storage domain is not an export domain." % label)

    def action_vms_export(self, parent, vid, action, query):
        vm = self.must("vms", vid)
        if action.host is None and action.directory is None:
            self._refuse_export_domain(action, "VM")
        if vm.status == T.VmStatus.IMAGE_LOCKED:
            raise conflict("Cannot export VM. VM is locked. Please try again in a few minutes.")
        host, directory, name = self._ova_checks("vm", vm, vm.cluster.id, action)
        return self._start_ova(
            "vm", vm, host, directory, name, list(self.store.list("vm_disk_attachments", vid)),
            self.vm_ovf(vm), action)

    def action_templates_export(self, parent, tid, action, query):
        tpl = self.must("templates", tid)
        if action.host is None and action.directory is None:
            self._refuse_export_domain(action, "Template")
        if tpl.status != T.TemplateStatus.OK:
            raise conflict("Cannot export Template. Template %s is locked." % tpl.name)
        host, directory, name = self._ova_checks("template", tpl, tpl.cluster.id if tpl.cluster else None, action)
        return self._start_ova("template", tpl, host, directory, name,
                               list(self.store.list("template_disk_attachments", tid)),
                               self.vm_ovf(tpl, "template_disk_attachments", "template_nics"), action)

    def _start_ova(self, kind, entity, host, directory, name, attachments, ovf, action):
        path = "%s/%s" % (directory if directory != "/" else "", name)
        label, code = ("VM", 1223) if kind == "vm" else ("Template", 1226)
        job = self.start_job("Exporting %s %s as an OVA to %s on Host %s" % (label, entity.name, path, host.name),
                             action.correlation_id)
        self.emit(code, "Starting to export %s %s as a Virtual Appliance" % ("Vm" if kind == "vm" else label,
                                                                             entity.name),
                  vm=entity.id if kind == "vm" else None, template=entity.id if kind == "template" else None)
        disks = [self.disk_path(a.disk.id) for a in attachments if self.disk_path(a.disk.id)]
        size = sum(_size(p) for p in disks if os.path.exists(p))
        seconds = 10 + size / float(self.tunables.get("ova_bytes_per_second", 200 << 20))
        self.schedule(seconds, "ova_exported", kind=kind, entity=entity.id, host=host.id, path=path, ovf=ovf,
                      disks=disks, job=job)
        return self.action_result(job=job)

    def timer_ova_exported(self, kind, entity, host, path, ovf, disks, job):
        coll = "vms" if kind == "vm" else "templates"
        obj, h = self.store.get(coll, entity), self.store.get("hosts", host)
        label = "Vm" if kind == "vm" else "Template"
        name = obj.name if obj is not None else entity
        hname = h.name if h is not None else host
        refs = dict(vm=entity) if kind == "vm" else dict(template=entity)
        try:
            target = os.path.join(self.host_dir(hname), path.lstrip("/"))
            _write_ova(target, kind, ovf, [p for p in disks if p and os.path.exists(p)])
        except (OSError, subprocess.CalledProcessError) as exc:
            self.emit(1225 if kind == "vm" else 1228, "Failed to export %s %s as a Virtual Appliance to path %s on "
                      "Host %s" % (label, name, path, hname), "error", **refs)
            self.end_job(job, ok=False)
            return exc
        self.emit(1224 if kind == "vm" else 1227, "%s %s was exported successfully as a Virtual Appliance to path "
                  "%s on Host %s" % (label, name, path, hname), **refs)
        self.end_job(job)
        return None


def _size(path):
    try:
        return os.stat(path).st_blocks * 512
    except OSError:
        return 0


def _is_qcow(path):
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"QFI\xfb"
    except OSError:
        return False


def _write_ova(target, kind, ovf, disks):
    """pack_ova.py: ``<vm|template>.ovf`` first, then each disk (flattened to qcow2) under its image id."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = target + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.GNU_FORMAT) as tar:
        data = ovf.encode()
        info = tarfile.TarInfo("%s.ovf" % kind)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        for path in disks:
            with tempfile.TemporaryDirectory(dir=os.path.dirname(target)) as work:
                flat = os.path.join(work, os.path.basename(path))
                subprocess.run(["qemu-img", "convert", "-O", "qcow2", path, flat], check=True, capture_output=True)
                tar.add(flat, arcname=os.path.basename(path))
    os.replace(tmp, target)
