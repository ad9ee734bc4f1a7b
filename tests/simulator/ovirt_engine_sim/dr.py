# SPDX-License-Identifier: GPL-3.0-or-later
"""Disaster recovery on the Engine side: domain metadata, the OVF store, importing an existing storage domain,
unregistered VMs and templates and their registration (RegisterVm / ImportVmFromConfiguration with
``registration_configuration`` mappings).

The OVF store of a data domain (``<domain dir>/ovf_store/<entity id>.json``: the entity as the SDK writes it plus
what registration maps by name — cluster, vNIC profile and network, affinity groups and labels) is written as the
Engine's OvfDataUpdater writes its OVF_STORE disks: every ``ovf_update_interval`` simulated seconds (tunable,
default 3600 = OvfUpdateIntervalInMinutes 60), on ``POST /storagedomains/{id}/updateovfstore`` and when the domain is
deactivated. A VM created or edited after the last update is missing or stale after an unplanned failover.

A domain directory holds ``dom_md/metadata`` (vdsm's KEY=VALUE lines: SDUUID, DESCRIPTION = the name, CLASS, TYPE,
ROLE), ``images/<disk id>/<volume>`` (qcow2 chains with relative backing files, as vdsm writes them) and the OVF store.
Adding a file domain whose path (the export) holds ``<sd id>/dom_md/metadata`` imports it (same id and name,
AddExistingFileStorageDomainCommand); attaching it reads its OVF store into the unregistered entities."""

import copy
import json
import os
import shutil

from ovirtsdk4 import types as T
from ovirtsdk4.reader import Reader
from ovirtsdk4.writer import Writer

from .core import new_id
from .model import ApiError, bad_request, conflict, ref, render

OVF_UPDATE_INTERVAL = 3600.0
# AuditLogType codes of registration (ImportVmFromConfigurationCommand / ImportVmTemplateFromConfigurationCommand)
EV_VM_IMPORTED = 174            # VM_IMPORT_FROM_CONFIGURATION_EXECUTED_SUCCESSFULLY
EV_VM_DISKS_FAILED = 175        # VM_IMPORT_FROM_CONFIGURATION_ATTACH_DISKS_FAILED
EV_TEMPLATE_IMPORTED = 176      # TEMPLATE_IMPORT_FROM_CONFIGURATION_SUCCESS
EV_PARTIAL = 9016               # IMPORTEXPORT_PARTIAL_VM_MISSING_ENTITIES (code not verified against the Engine)
EV_MAC_EXTERNAL = 925           # MAC_ADDRESS_IS_EXTERNAL (code not verified against the Engine)
EV_OVF_UPDATED = 9017           # simulator: OVF store written (the Engine logs this only at debug level)


def engine_defaults(obj, bios_type=None):
    """Fields the Engine reports on every VM and template (VmBaseMapper) that an OVF may leave out: BIOS (the
    cluster's type), SSO, USB, IO threads, display, time zone."""
    if obj.bios is None:
        obj.bios = T.Bios(boot_menu=T.BootMenu(enabled=False), type=bios_type or T.BiosType.Q35_OVMF)
    if obj.sso is None:
        obj.sso = T.Sso(methods=[T.Method(id=T.SsoMethod.GUEST_AGENT)])
    if obj.usb is None:
        obj.usb = T.Usb(enabled=False)
    if obj.io is None:
        obj.io = T.Io(threads=1)
    if obj.display is None:
        obj.display = T.Display(type=T.DisplayType.VNC, monitors=1, single_qxl_pci=False, smartcard_enabled=False,
                                allow_override=False, copy_paste_enabled=True, file_transfer_enabled=True)
    if obj.time_zone is None:
        obj.time_zone = T.TimeZone(name="Etc/GMT")
    if obj.soundcard_enabled is None:
        obj.soundcard_enabled = False
    return obj


def read_metadata(sd_dir):
    path = os.path.join(sd_dir, "dom_md", "metadata")
    out = {}
    try:
        with open(path) as f:
            for line in f:
                key, sep, val = line.rstrip("\n").partition("=")
                if sep:
                    out[key] = val
    except OSError:
        return None
    return out


def find_domains(export):
    """The storage domains an export (a file domain's path) holds: {sd id: metadata}."""
    found = {}
    if not export or not os.path.isdir(export):
        return found
    for name in sorted(os.listdir(export)):
        meta = read_metadata(os.path.join(export, name))
        if meta and meta.get("SDUUID") == name:
            found[name] = meta
    return found


class DrMixin:
    # -- domain metadata ------------------------------------------------------------------------------
    def write_sd_metadata(self, sd_id):
        sd = self.store.get("storagedomains", sd_id)
        if sd is None:
            return
        folder = os.path.join(self.sd_dir(sd_id), "dom_md")
        os.makedirs(folder, exist_ok=True)
        lines = {"SDUUID": sd.id, "DESCRIPTION": sd.name, "CLASS": (sd.type.value if sd.type else "data").capitalize(),
                 "TYPE": (sd.storage.type.value if sd.storage and sd.storage.type else "nfs").upper(),
                 "ROLE": "Master" if sd.master else "Regular", "VERSION": "5",
                 "POOL_UUID": self.store.x("storagedomains", sd_id).get("data_center") or "",
                 "OVF_UPDATED": self.store.x("storagedomains", sd_id).get("ovf_updated") or ""}
        text = "".join("%s=%s\n" % kv for kv in lines.items())
        path = os.path.join(folder, "metadata")
        try:
            with open(path) as f:
                if f.read() == text:
                    return
        except OSError:
            pass
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)

    # -- the OVF store ---------------------------------------------------------------------------------
    def write_ovf(self, vid):
        """A VM changed: the next OVF update writes it (OvfDataUpdater follows the VM's generation)."""
        self.store.set_meta("ovf_changed", int(self.store.meta.get("ovf_changed", 0)) + 1)

    def remove_ovf(self, vid):
        self.write_ovf(vid)

    def ovf_interval(self):
        return float(self.tunables.get("ovf_update_interval", OVF_UPDATE_INTERVAL))

    def ensure_ovf_timer(self):
        """The OVF update timer, due ``ovf_update_interval`` after the last update (rescheduled when the tunable
        changes: POST /sim/tunables calls this)."""
        want = self.ovf_interval()
        pending = self.pending("ovf_update")
        if pending and pending[0][3].get("interval") == want:
            return
        last = pending[0][0] - pending[0][3].get("interval", OVF_UPDATE_INTERVAL) if pending else self.now()
        self.cancel_timers("ovf_update")
        self.schedule(max(0.0, last + want - self.now()), "ovf_update", interval=want)

    def timer_ovf_update(self, interval=None):
        if not self.lazy_images:
            for sd in self.store.list("storagedomains"):
                x = self.store.x("storagedomains", sd.id)
                if sd.type == T.StorageDomainType.DATA and x.get("data_center") and x.get("status") == "active":
                    self.update_ovf_store(sd.id)
        self.schedule(self.ovf_interval(), "ovf_update", interval=self.ovf_interval())

    def _entity_domains(self, coll, oid):
        sds = []
        for att in self.store.list(coll, oid):
            disk = self.store.get("disks", att.disk.id)
            if disk is not None and disk.storage_domains and disk.storage_domains[0].id not in sds:
                sds.append(disk.storage_domains[0].id)
        return sds

    def _vm_domains(self, vid):
        return self._entity_domains("vm_disk_attachments", vid)

    def _nic_names(self, nic):
        prof = self.store.get("vnicprofiles", nic.vnic_profile.id) if nic.vnic_profile is not None else None
        net = self.store.get("networks", prof.network.id) if prof is not None and prof.network else None
        return {"id": nic.id, "name": nic.name, "mac": nic.mac.address if nic.mac else None,
                "profile": prof.name if prof else None, "network": net.name if net else None}

    def ovf_entry(self, kind, oid):
        """What the OVF of a VM or template records (OvfWriter): the entity with its NICs and disks, names of what
        registration maps, the VM's status at the time of writing."""
        coll, att_coll, nic_coll = (("vms", "vm_disk_attachments", "vm_nics") if kind == "vm" else
                                    ("templates", "template_disk_attachments", "template_nics"))
        obj = self.store.get(coll, oid)
        # Shallow copies: only the copies' own attributes are replaced, and objects read back from an OVF carry
        # the SDK's parsed dates, which deepcopy cannot copy.
        full = copy.copy(obj)
        nics = list(self.store.list(nic_coll, oid))
        full.nics = list(nics)
        full.disk_attachments = []
        for att in self.store.list(att_coll, oid):
            a = copy.copy(att)
            a.disk = self.store.get("disks", att.disk.id)
            full.disk_attachments.append(a)
        cluster = self.store.get("clusters", obj.cluster.id) if obj.cluster is not None else None
        entry = {"kind": kind, "id": oid, "name": obj.name, "xml": Writer.write(full),
                 "cluster": cluster.name if cluster else None, "nics": [self._nic_names(n) for n in nics],
                 "written": self.now()}
        if kind == "vm":
            entry["status"] = obj.status.value if obj.status else "down"
            entry["affinity_groups"] = sorted(g.name for g in self.store.list("cluster_affinity_groups")
                                              if any(v.id == oid for v in (g.vms or [])))
            entry["affinity_labels"] = sorted(
                lab.name for lab in self.store.list("affinitylabels")
                if oid in self.store.extra.get("affinitylabels", {}).get(lab.id, {}).get("vms", []))
            entry["template"] = obj.template.id if obj.template is not None else None
        return entry

    def update_ovf_store(self, sd_id):
        """OvfDataUpdater / ProcessOvfUpdateForStorageDomain: every VM and template with a disk on the domain, plus
        the entities this Engine has read from the domain and not registered yet."""
        folder = os.path.join(self.sd_dir(sd_id), "ovf_store")
        x = self.store.x("storagedomains", sd_id)
        entries = {}
        for kind, coll, att in (("template", "templates", "template_disk_attachments"),
                                ("vm", "vms", "vm_disk_attachments")):
            for obj in self.store.list(coll):
                if sd_id in self._entity_domains(att, obj.id):
                    entries[obj.id] = self.ovf_entry(kind, obj.id)
        for oid, entry in (x.get("unregistered") or {}).items():
            entries.setdefault(oid, entry)
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            if name.endswith(".json") and name[:-5] not in entries:
                os.remove(os.path.join(folder, name))
        for oid, entry in entries.items():
            path = os.path.join(folder, oid + ".json")
            data = json.dumps(entry, sort_keys=True)
            try:
                with open(path) as f:
                    old = json.load(f)
                if dict(old, written=None) == dict(entry, written=None):
                    continue     # unchanged: keep the file (and its mtime) for the replication's copy
            except (OSError, ValueError):
                pass
            with open(path + ".tmp", "w") as f:
                f.write(data)
            os.replace(path + ".tmp", path)
        x["ovf_updated"] = self.now()
        self.write_sd_metadata(sd_id)
        self.store.touch("storagedomains", sd_id)
        self.replication_changed(sd_id)

    def read_ovf_store(self, sd_id):
        folder = os.path.join(self.sd_dir(sd_id), "ovf_store")
        out = {}
        if not os.path.isdir(folder):
            return out
        for name in sorted(os.listdir(folder)):
            if name.endswith(".json"):
                try:
                    with open(os.path.join(folder, name)) as f:
                        entry = json.load(f)
                except (OSError, ValueError):
                    continue
                out[entry["id"]] = entry
        return out

    def load_unregistered(self, sd_id):
        """Attach: the OVF store's entities this Engine does not know become unregistered (OvfDataReader)."""
        x = self.store.x("storagedomains", sd_id)
        found = {}
        for oid, entry in self.read_ovf_store(sd_id).items():
            coll = "vms" if entry["kind"] == "vm" else "templates"
            if self.store.get(coll, oid) is None:
                found[oid] = entry
        x["unregistered"] = found
        self.store.touch("storagedomains", sd_id)
        return found

    def action_storagedomains_updateovfstore(self, parent, sid, action, query):
        sd = self.must("storagedomains", sid)
        x = self.store.x("storagedomains", sid)
        if not x.get("data_center") or x.get("status") != "active":
            raise conflict("Cannot update OVF Store. The Storage Domain %s is not active in a Data Center." % sd.name)
        self.update_ovf_store(sid)
        return self.action_result()

    # -- importing an existing domain ---------------------------------------------------------------------
    def import_storage_domain(self, sd, host, existing=None, export=None):
        """AddExistingFileStorageDomainCommand / AddExistingBlockStorageDomainCommand: the domain keeps its id and
        name (from its metadata); it is unattached until attached to a data center."""
        sd_id, meta = existing
        if self.store.get("storagedomains", sd_id) is not None:
            raise conflict("Cannot add Storage. The Storage Domain already exists.")
        name = meta.get("DESCRIPTION") or sd.name
        if self.by_name("storagedomains", name) is not None:
            raise conflict("Cannot add Storage. The Storage Domain name is already in use.")
        st = sd.storage
        storage = T.HostStorage(type=st.type, address=st.address, path=st.path, vfs_type=st.vfs_type,
                                mount_options=st.mount_options, nfs_version=st.nfs_version)
        if st.type in (T.StorageType.ISCSI, T.StorageType.FCP):
            storage = T.HostStorage(type=st.type, volume_group=T.VolumeGroup(id=new_id(), logical_units=[
                T.LogicalUnit(id=lun.id, address=lun.address, port=lun.port, target=lun.target, size=100 * (1 << 30))
                for lun in ((st.volume_group.logical_units if st.volume_group else None) or st.logical_units or [])]))
        kind = T.StorageDomainType(meta.get("CLASS", "data").lower()) if meta.get("CLASS", "data").lower() in (
            "data", "iso", "export") else T.StorageDomainType.DATA
        stored = T.StorageDomain(
            id=sd_id, name=name, description=sd.description or "", comment=sd.comment or "", type=kind,
            master=False, storage=storage, storage_format=T.StorageFormat.V5, external_status=T.ExternalStatus.OK,
            backup=bool(sd.backup), wipe_after_delete=bool(sd.wipe_after_delete),
            discard_after_delete=bool(sd.discard_after_delete), supports_discard=False,
            warning_low_space_indicator=10, critical_space_action_blocker=5)
        self.store.put("storagedomains", stored, extra={"status": "unattached", "capacity": 1024 * (1 << 30),
                                                        "dir": os.path.join(export, sd_id), "imported": True})
        self.emit(956, "Storage Domain %s was added by admin@internal-authz" % stored.name, storage_domain=sd_id,
                  host=host.id)
        return self.decorate_sd(render("storagedomains", stored))

    def existing_domain(self, sd):
        """A file domain's path that already holds a domain (the first one), or a block domain imported by id
        (``import=true``): (sd id, metadata, export directory) or None."""
        st = sd.storage
        if st.type in (T.StorageType.NFS, T.StorageType.POSIXFS, T.StorageType.GLUSTERFS):
            found = find_domains(st.path)
            if found:
                sd_id = sorted(found)[0]
                return sd_id, found[sd_id], st.path
            return None
        if not sd.import_:
            return None
        if not sd.id:
            raise bad_request("Cannot add Storage. The following field is required: id (import=true)")
        for export in self.san_exports():
            found = find_domains(export)
            if sd.id in found and found[sd.id].get("TYPE", "").lower() == st.type.value:
                return sd.id, found[sd.id], export
        raise ApiError(404, "Storage Domain id %s Does not exists." % sd.id)

    @staticmethod
    def real_export(storage):
        """A file domain's path that is a real, writable directory here (not ``/``): the new domain lives in
        ``<path>/<sd id>`` like on an NFS export, so it can be removed without formatting and imported again."""
        if storage is None or storage.type not in (T.StorageType.NFS, T.StorageType.POSIXFS, T.StorageType.GLUSTERFS):
            return None
        path = storage.path or ""
        if os.path.isabs(path) and os.path.normpath(path) != "/" and os.path.isdir(path) and os.access(path, os.W_OK):
            return path
        return None

    def san_exports(self):
        """Where block domains' LUNs are visible to this site's hosts: the tunable ``san_paths`` (list) plus every
        directory under ``<state dir>/exports`` (where replicas for this simulator land)."""
        out = list(self.tunables.get("san_paths") or [])
        root = os.path.join(self.state_dir, "exports")
        if os.path.isdir(root):
            out += [os.path.join(root, n) for n in sorted(os.listdir(root))]
        return out

    def forget_domain_entities(self, sd_id):
        """Detach / remove: the VMs and templates whose disks are on the domain leave this Engine's database (their
        OVF stays in the OVF store, their images on the storage); disks of the domain too."""
        for coll, att in (("vms", "vm_disk_attachments"), ("templates", "template_disk_attachments")):
            for obj in list(self.store.list(coll)):
                if sd_id in self._entity_domains(att, obj.id):
                    for a in list(self.store.list(att, obj.id)):
                        self.store.delete(att, a.id)
                    for child in ("vm_nics", "vm_snapshots", "vm_tags") if coll == "vms" else ("template_nics",):
                        for c in list(self.store.list(child, obj.id)):
                            self.store.delete(child, c.id)
                    for g in self.store.list("cluster_affinity_groups"):
                        if any(v.id == obj.id for v in (g.vms or [])):
                            g.vms = [v for v in g.vms if v.id != obj.id]
                            self.store.touch("cluster_affinity_groups", g.id)
                    self.store.delete(coll, obj.id)
        for disk in list(self.store.list("disks")):
            if disk.storage_domains and disk.storage_domains[0].id == sd_id:
                self.store.delete("disks", disk.id)
        self.store.x("storagedomains", sd_id).pop("unregistered", None)

    # -- unregistered entities ----------------------------------------------------------------------------
    def _unregistered(self, sid, kind):
        x = self.store.x("storagedomains", sid)
        return [e for e in (x.get("unregistered") or {}).values() if e["kind"] == kind]

    def _unregistered_view(self, sid, entry):
        obj = Reader.read(entry["xml"])
        obj.nics = obj.disk_attachments = None
        coll = "vms" if entry["kind"] == "vm" else "templates"
        out = render(coll, obj)
        out.href = "/ovirt-engine/api/storagedomains/%s/%s/%s" % (sid, coll, obj.id)
        out.cluster = None
        out.host = None
        return out

    def view_storagedomains_vms(self, sid, query):
        self.must("storagedomains", sid)
        if query.get("unregistered", "false").lower() == "true":
            return [self._unregistered_view(sid, e) for e in self._unregistered(sid, "vm")]
        return [render("vms", self.store.get("vms", vid)) for vid in sorted(
                {self.store.parent_of("vm_disk_attachments", d.id) for d in self.store.list("disks")
                 if d.storage_domains and d.storage_domains[0].id == sid} - {None}) if self.store.get("vms", vid)]

    def view_storagedomains_templates(self, sid, query):
        self.must("storagedomains", sid)
        if query.get("unregistered", "false").lower() == "true":
            return [self._unregistered_view(sid, e) for e in self._unregistered(sid, "template")]
        return [render("templates", self.store.get("templates", tid)) for tid in sorted(
                {self.store.parent_of("template_disk_attachments", d.id) for d in self.store.list("disks")
                 if d.storage_domains and d.storage_domains[0].id == sid} - {None}) if self.store.get("templates", tid)]

    # -- registration ---------------------------------------------------------------------------------------
    def _mapped(self, mappings, from_name):
        for m in mappings or []:
            src = getattr(m, "from_", None)
            if src is not None and src.name == from_name:
                return m.to
        return None

    def _register_cluster(self, action, entry, what):
        conf = action.registration_configuration
        if action.cluster is not None and (action.cluster.id or action.cluster.name):
            return self.resolve("clusters", action.cluster, what)
        target = self._mapped(conf.cluster_mappings if conf else None, entry.get("cluster"))
        if target is not None and (target.id or target.name):
            found = self.store.get("clusters", target.id) if target.id else self.by_name("clusters", target.name)
            if found is not None:
                return found
        found = self.by_name("clusters", entry.get("cluster")) if entry.get("cluster") else None
        if found is None:
            raise conflict("Cannot import %s. Cluster can not be empty." % what)
        return found

    def _vnic_target(self, action, nic, cluster, missing):
        """DrMappingHelper.updateVnicsFromMappings, then VnicProfileHelper: the profile a NIC gets on this site,
        None (no network) when neither a mapping nor a same-named profile on the same-named network exists."""
        conf = action.registration_configuration
        maps = []
        for m in (conf.vnic_profile_mappings if conf else None) or []:
            src = m.from_
            maps.append((src.name if src else None, src.network.name if src and src.network else None, m.to))
        for m in action.vnic_profile_mappings or []:     # the deprecated top-level form
            maps.append((m.source_network_profile_name, m.source_network_name, m.target_vnic_profile))
        for prof_name, net_name, target in maps:
            if prof_name == nic["profile"] and net_name == nic["network"]:
                if target is None or (target.id is None and target.name is None):
                    return None     # mapped to "no network"
                found = self.store.get("vnicprofiles", target.id) if target.id else self._profile_named(
                    target.name, target.network.name if target.network else None)
                if found is None:
                    missing.append("%s/%s" % (net_name, prof_name))
                return found
        if nic["profile"] is None:
            return None
        found = self._profile_named(nic["profile"], nic["network"])
        if found is None:
            missing.append("%s/%s" % (nic["network"], nic["profile"]))
        return found

    def _profile_named(self, name, network_name):
        for prof in self.store.list("vnicprofiles"):
            net = self.store.get("networks", prof.network.id) if prof.network else None
            if prof.name == name and (network_name is None or (net is not None and net.name == network_name)):
                return prof
        return None

    def _mac_bad(self, mac, cluster_id, taken):
        """(in use, outside the pool) for the target cluster's MAC pool."""
        from .infra import _mac_int
        pool = self.cluster_mac_pool(cluster_id)
        if pool is None or not mac:
            return False, False
        used = {n.mac.address.lower() for n in self.pool_nics(pool.id) if n.mac is not None and n.mac.address}
        value = _mac_int(mac)
        outside = not any(_mac_int(r.from_) <= value <= _mac_int(r.to) for r in pool.ranges or [])
        return (mac.lower() in used or mac.lower() in taken) and not pool.allow_duplicates, outside

    def _image_top(self, sid, did):
        """The top volume of a disk's chain in the domain's images directory (the one no other volume backs)."""
        folder = os.path.join(self.sd_dir(sid), "images", did)
        if not os.path.isdir(folder):
            return None, []
        vols = [os.path.join(folder, f) for f in sorted(os.listdir(folder)) if not f.endswith((".meta", ".lease"))]
        if not vols:
            return None, []
        from .storage import qemu_img
        backing = {}
        for v in vols:
            try:
                info = json.loads(qemu_img("info", "-U", "--output=json", v))
            except (ApiError, ValueError):
                continue
            b = info.get("backing-filename")
            if b:
                backing[os.path.normpath(v)] = os.path.normpath(os.path.join(folder, b))
        backed = set(backing.values())
        tops = [v for v in vols if os.path.normpath(v) not in backed]
        top = max(tops or vols, key=os.path.getmtime)
        chain, cur = [], os.path.normpath(top)
        while cur is not None and os.path.dirname(cur) == os.path.normpath(folder) and cur not in chain:
            chain.insert(0, cur)       # base first, the active volume last (as storage.py keeps chains)
            cur = backing.get(cur)
        return top, chain

    def viewaction_storagedomains_vms_register(self, sid, vid, action, query):
        return self._register(sid, vid, action, "vm")

    def viewaction_storagedomains_templates_register(self, sid, tid, action, query):
        return self._register(sid, tid, action, "template")

    def _register(self, sid, oid, action, kind):
        what = "VM" if kind == "vm" else "Template"
        coll = "vms" if kind == "vm" else "templates"
        sd = self.must("storagedomains", sid)
        x = self.store.x("storagedomains", sid)
        entry = (x.get("unregistered") or {}).get(oid)
        clone = bool(action.clone)
        if entry is None or entry["kind"] != kind:
            if self.store.get(coll, oid) is not None:
                raise conflict("Cannot import %s. %s with the same identifier already exists." % (what, what))
            raise ApiError(404)
        if x.get("status") != "active":
            raise conflict("Cannot import %s. Storage Domain %s is not active." % (what, sd.name))
        if self.store.get(coll, oid) is not None and not clone:
            raise conflict("Cannot import %s. %s with the same identifier already exists." % (what, what))
        cluster = self._register_cluster(action, entry, what)
        obj = Reader.read(entry["xml"])
        name = obj.name
        given = action.vm if kind == "vm" else action.template
        if given is not None and given.name:
            name = given.name
        if (kind == "vm" and self.by_name("vms", name) is not None) or \
                (kind == "template" and self.by_name("templates", name) is not None):
            raise conflict("Cannot import %s. The %s name is already in use, please choose a unique name and try "
                           "again." % (what, what))
        if kind == "vm" and obj.template is not None and obj.template.id not in (None, self.BLANK_ID) and \
                self.store.get("templates", obj.template.id) is None:
            raise conflict("Cannot import VM. The relevant Template doesn't exist.")
        # disks: images must be on the storage (ImportValidator.validateStorageExistForUnregisteredEntity)
        atts = obj.disk_attachments or []
        found, missing_disks = {}, []
        for att in atts:
            disk = att.disk
            if disk is None:
                continue
            if self.store.get("disks", disk.id) is not None and not clone:
                missing_disks.append(disk.alias or disk.id)
                continue
            top, chain = self._image_top(sid, disk.id)
            if top is None:
                missing_disks.append(disk.alias or disk.id)
            else:
                found[disk.id] = (top, chain)
        if missing_disks and not action.allow_partial_import:
            raise conflict("Cannot import %s. The following disk(s) could not be found on the Storage Domain: %s. "
                           "Import them partially with allow_partial_import." % (what, ", ".join(missing_disks)))
        # NICs: vNIC profiles (mappings) and MAC addresses (bad MACs: in use in, or outside of, the target pool)
        missing_entities = []
        vnic_missing = []
        nic_plans = []
        taken = set()
        external = []
        for nic_obj, nic in zip(obj.nics or [], entry.get("nics") or []):
            prof = self._vnic_target(action, nic, cluster, vnic_missing)
            mac = nic.get("mac")
            if kind == "vm":
                in_use, outside = self._mac_bad(mac, cluster.id, taken)
                if in_use or outside:
                    if action.reassign_bad_macs:
                        mac = None
                    elif in_use:
                        raise conflict("Cannot import VM. MAC Address %s is already in use. Set reassign_bad_macs to "
                                       "assign a new one from the MAC pool." % mac)
                    else:
                        external.append(mac)
                if mac:
                    taken.add(mac.lower())
            nic_plans.append((nic_obj, prof, mac))
        if vnic_missing:
            missing_entities.append("Vnic Mappings: %s" % ", ".join(vnic_missing))
        # affinity groups and labels (names, mapped) — missing ones are dropped, as the Engine does
        conf = action.registration_configuration
        groups, labels = [], []
        if kind == "vm":
            miss_g, miss_l = [], []
            for g in entry.get("affinity_groups") or []:
                target = self._mapped(conf.affinity_group_mappings if conf else None, g)
                tname = target.name if target is not None and target.name else g
                found_g = [ag for ag in self.store.list("cluster_affinity_groups", cluster.id) if ag.name == tname]
                (groups if found_g else miss_g).append(found_g[0] if found_g else tname)
            for lab in entry.get("affinity_labels") or []:
                target = self._mapped(conf.affinity_label_mappings if conf else None, lab)
                tname = target.name if target is not None and target.name else lab
                found_l = self.by_name("affinitylabels", tname)
                (labels if found_l else miss_l).append(found_l if found_l else tname)
            if miss_g:
                missing_entities.append("Affinity groups: %s" % ", ".join(miss_g))
            if miss_l:
                missing_entities.append("Affinity labels: %s" % ", ".join(miss_l))
        # -- execute
        new_id_ = new_id() if clone else oid
        stored = copy.copy(obj)      # (a parsed object: its times carry the SDK's TZ, which does not deepcopy)
        stored.nics = stored.disk_attachments = None
        stored.id = new_id_
        stored.name = name
        stored.cluster = ref("clusters", cluster.id)
        stored.href = None
        engine_defaults(stored, cluster.bios_type)
        if kind == "vm":
            stored.status = T.VmStatus.DOWN
            stored.host = None
            stored.start_time = stored.stop_time = None
            self.store.put("vms", stored, extra={"gen": 0, "graphics": ["spice"]})
        else:
            stored.status = T.TemplateStatus.OK
            self.store.put("templates", stored)
        att_coll, nic_coll = (("vm_disk_attachments", "vm_nics") if kind == "vm" else
                              ("template_disk_attachments", "template_nics"))
        for att in atts:
            disk = att.disk
            if disk is None or disk.id not in found:
                continue
            top, chain = found[disk.id]
            if clone:
                did, image = new_id(), new_id()
                folder = os.path.join(self.sd_dir(sid), "images", did)
                os.makedirs(folder, exist_ok=True)
                path = os.path.join(folder, image)
                from .storage import qemu_img
                qemu_img("convert", "-O", "qcow2", top, path)
                disk = copy.copy(disk)
                disk.id, disk.image_id = did, image
                top, chain = path, [path]
            d = copy.copy(disk)
            d.href = None
            d.status = T.DiskStatus.OK
            d.storage_domains = [ref("storagedomains", sid)]
            d.image_id = os.path.basename(top)
            self.store.put("disks", d, extra={"path": top, "chain": chain})
            self.store.put(att_coll, T.DiskAttachment(
                id=d.id, disk=ref("disks", d.id), interface=att.interface, bootable=att.bootable, active=True,
                pass_discard=False, read_only=False, uses_scsi_reservation=False,
                **({"vm": ref("vms", new_id_)} if kind == "vm" else {"template": ref("templates", new_id_)})),
                parent=new_id_)
        for nic_obj, prof, mac in nic_plans:
            if kind == "vm" and not mac:
                mac = self.allocate_mac(cluster.id)
            n = T.Nic(id=new_id() if clone else nic_obj.id, name=nic_obj.name,
                      interface=nic_obj.interface or T.NicInterface.VIRTIO,
                      mac=T.Mac(address=mac.lower()) if mac else None, plugged=True,
                      linked=True if nic_obj.linked is None else nic_obj.linked,
                      vnic_profile=ref("vnicprofiles", prof.id) if prof is not None else None)
            if kind == "vm":
                n.vm = ref("vms", new_id_)
            else:
                n.template = ref("templates", new_id_)
            self.store.put(nic_coll, n, parent=new_id_)
        if kind == "vm":
            for g in groups:
                g.vms = list(g.vms or []) + [ref("vms", new_id_)]
                self.store.touch("cluster_affinity_groups", g.id)
            for lab in labels:
                members = self.store.x("affinitylabels", lab.id).setdefault("vms", [])
                members.append(new_id_)
                self.store.touch("affinitylabels", lab.id)
            self._active_snapshot(new_id_)
        if not clone:
            x["unregistered"].pop(oid, None)
            self.store.touch("storagedomains", sid)
        if missing_disks:
            missing_entities.insert(0, "Disks: %s" % ", ".join(missing_disks))
        ev_args = {"vm": new_id_} if kind == "vm" else {"template": new_id_}
        if missing_entities:
            self.emit(EV_PARTIAL, "%s %s has been imported from the given configuration but the following entities "
                                  "were missing: %s" % (what, name, "; ".join(missing_entities)), "warning",
                      cluster=cluster.id, **ev_args)
        if external:
            self.emit(EV_MAC_EXTERNAL, "VM %s has MAC address(es) %s, which is/are out of its MAC pool definitions."
                      % (name, ", ".join(external)), "warning", cluster=cluster.id, **ev_args)
        if kind == "vm":
            self.emit(EV_VM_IMPORTED, "VM %s has been successfully imported from the given configuration." % name,
                      cluster=cluster.id, storage_domain=sid, **ev_args)
            self.record("vm", new_id_, "down")
            return self.action_result(vm=ref("vms", new_id_))
        self.emit(EV_TEMPLATE_IMPORTED, "Template %s has been successfully imported from the given configuration."
                  % name, cluster=cluster.id, storage_domain=sid, **ev_args)
        return self.action_result(template=ref("templates", new_id_))


def wipe_domain(path):
    shutil.rmtree(path, ignore_errors=True)
