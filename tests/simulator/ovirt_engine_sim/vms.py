# SPDX-License-Identifier: GPL-3.0-or-later
"""VMs: add from a template, update (with next-run), remove, the power actions, NICs,
disk attachments, snapshots, statistics and the scheduler that places VMs on hosts."""

import copy
import os
import re
import uuid

from ovirtsdk4 import types as T
from ovirtsdk4.reader import Reader
from ovirtsdk4.writer import Writer

from .core import new_id
from .load import level
from .model import ApiError, bad_request, conflict, merge, ref, render

S = T.VmStatus
RUNNING = {S.UP, S.POWERING_UP, S.WAIT_FOR_LAUNCH, S.MIGRATING, S.REBOOT_IN_PROGRESS, S.PAUSED,
           S.POWERING_DOWN, S.SAVING_STATE, S.RESTORING_STATE, S.NOT_RESPONDING, S.UNKNOWN}
NAME_RE = re.compile(r"^[\w.-]{1,64}$")
GIB = 1 << 30
MIB = 1 << 20
# Fields the client may not set, and fields a running VM only takes at next run.
_READ_ONLY = ("status", "host", "start_time", "stop_time", "creation_time", "next_run_configuration_exists",
              "disk_attachments", "nics", "snapshots", "statistics", "tags", "cdroms", "permissions",
              "run_once", "status_detail", "fqdn", "guest_operating_system", "guest_time_zone",
              "original_template", "stop_reason", "checkpoints", "backups", "vm_pool")
_COLD = ("cpu", "os", "type", "bios", "custom_cpu_model", "custom_emulated_machine", "time_zone",
         "placement_policy_hosts", "io", "stateless")  # a lease is hot-plugged since 4.2
_COPIED_FROM_TEMPLATE = ("memory", "memory_policy", "cpu", "os", "type", "high_availability", "stateless",
                         "display", "bios", "io", "usb", "soundcard_enabled", "time_zone", "console",
                         "migration", "storage_error_resume_behaviour", "delete_protected", "large_icon",
                         "small_icon")


# Statuses in which the guest runs and its agent reports (VmStatus.isGuestCpuRunning, less paused).
GUEST_AGENT_UP = {S.UP, S.MIGRATING, S.POWERING_DOWN, S.REBOOT_IN_PROGRESS}


def guest_ips(mac):
    """The addresses a simulated guest reports on a vNIC: IPv4 from the MAC's low 17 bits in 198.18.0.0/15 (the
    benchmarking range, RFC 2544: unique for 131,070 vNICs of one pool) and the SLAAC (EUI-64) IPv6 address in
    2001:db8::/64 (documentation prefix)."""
    if not mac:
        return []
    octets = [int(b, 16) for b in mac.split(":")]
    n = (((octets[3] & 1) << 16) | (octets[4] << 8) | octets[5]) % 131070 + 1
    v4 = "198.%d.%d.%d" % (18 + (n >> 16), (n >> 8) & 0xFF, n & 0xFF)
    eui = [octets[0] ^ 2] + octets[1:3] + [0xFF, 0xFE] + octets[3:]
    v6 = "2001:db8::%x:%x:%x:%x" % tuple((eui[i] << 8) | eui[i + 1] for i in range(0, 8, 2))
    return [(v4, "v4"), (v6, "v6")]


def _mac_ok(mac):
    return re.match(r"^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$", mac or "") is not None


class VmsMixin:
    # -- scheduling -----------------------------------------------------------------------------
    # A GET is answered under the engine lock and changes nothing: ``read_memo`` (set by the server for the
    # request) holds what every host of a listing would otherwise recompute (O(hosts x VMs) for 10,000 VMs).
    read_memo = None

    def vms_on_host(self, host_id):
        memo = self.read_memo
        if memo is not None:
            index = memo.get("vms_on_host")
            if index is None:
                index = memo["vms_on_host"] = {}
                migrating = self.store.extra.get("vms", {})
                for vm in self.store.list("vms"):
                    if vm.status in RUNNING and vm.host is not None:
                        index.setdefault(vm.host.id, []).append(vm)
                    else:
                        to = migrating.get(vm.id, {}).get("migrating_to")
                        if to:
                            index.setdefault(to, []).append(vm)
            return list(index.get(host_id, ()))
        out = []
        for vm in self.store.list("vms"):
            if vm.status in RUNNING and vm.host is not None and vm.host.id == host_id:
                out.append(vm)
            elif self.store.extra.get("vms", {}).get(vm.id, {}).get("migrating_to") == host_id:
                out.append(vm)
        return out

    def host_committed(self, host_id):
        return sum(vm.memory or 0 for vm in self.vms_on_host(host_id))

    def host_capacity(self, host):
        cluster = self.store.get("clusters", host.cluster.id) if host.cluster else None
        pct = 100
        if cluster is not None and cluster.memory_policy and cluster.memory_policy.over_commit:
            pct = cluster.memory_policy.over_commit.percent or 100
        return int((host.memory or 0) * pct / 100)

    def free_memory(self, host):
        return self.host_capacity(host) - self.host_committed(host.id)

    def pick_host(self, vm, exclude=(), wanted=None):
        """Choose a host for ``vm``: up, in its cluster, with memory, obeying pinning and enforcing
        affinity. Returns (host, reason-if-none)."""
        candidates = [h for h in self.store.list("hosts")
                      if h.cluster and vm.cluster and h.cluster.id == vm.cluster.id
                      and h.status == T.HostStatus.UP and h.id not in exclude]
        pp = vm.placement_policy
        if pp is not None and pp.hosts:
            pinned = {h.id for h in pp.hosts}
            candidates = [h for h in candidates if h.id in pinned]
        if wanted is not None:
            candidates = [h for h in candidates if h.id == wanted.id]
        reasons = []
        for group in self.store.list("cluster_affinity_groups", vm.cluster.id if vm.cluster else None):
            members = {v.id for v in (group.vms or [])}
            if vm.id not in members or not _enforcing(group):
                continue
            busy = set()
            for other in members - {vm.id}:
                o = self.store.get("vms", other)
                if o is not None and o.status in RUNNING and o.host is not None:
                    busy.add(o.host.id)
            positive = _positive(group)
            if positive and busy:
                candidates = [h for h in candidates if h.id in busy]
            elif positive is False:
                candidates = [h for h in candidates if h.id not in busy]
            reasons.append("affinity group %s" % group.name)
        need = vm.memory or 0
        fits = [h for h in candidates if self.free_memory(h) >= need]
        if not fits:
            why = "no host in cluster has %d MiB free" % (need // MIB) if candidates else \
                "no up host matches placement/affinity (%s)" % (", ".join(reasons) or "cluster hosts")
            return None, why
        fits.sort(key=lambda h: (-self.free_memory(h), h.name))
        return fits[0], None

    # -- add / update / remove --------------------------------------------------------------------
    def add_vms(self, parent, vm, query):
        if vm.initialization is not None and vm.initialization.configuration is not None:
            return self.add_vm_from_configuration(vm, query)     # backups.py: ImportVmFromConfiguration
        if not vm.name:
            raise bad_request("Cannot add VM. The following field is required: name")
        if not NAME_RE.match(vm.name):
            raise bad_request("Cannot add VM. The given name contains special characters. Only lower-case and "
                              "upper-case letters, numbers, '_', '-', '.' are allowed")
        if self.by_name("vms", vm.name) is not None:
            raise conflict("Cannot add VM. The VM name is already in use, please choose a unique name and try again.")
        cluster = self.resolve("clusters", vm.cluster, "VM")
        source_snapshot = None
        if vm.snapshots:
            source_snapshot = self._find_snapshot(vm.snapshots[0].id)
        if vm.template is not None and (vm.template.id or vm.template.name):
            template = self.resolve("templates", vm.template, "VM")
        else:
            template = self.store.get("templates", self.BLANK_ID)
        if vm.use_latest_template_version and source_snapshot is None:
            # AddVmCommand.init: the latest version of the template's chain (its own disks: overrides dropped)
            latest = self.latest_template(template)
            if latest.id != template.id:
                template, vm.disk_attachments = latest, None
        if source_snapshot is not None:
            src_vm, _snap = source_snapshot
            base = src_vm
        else:
            base = template
        stored = T.Vm(id=new_id(), name=vm.name, cluster=ref("clusters", cluster.id),
                      template=ref("templates", template.id), original_template=ref("templates", template.id),
                      status=S.IMAGE_LOCKED, creation_time=self.now_dt(), origin="ovirt",
                      placement_policy=T.VmPlacementPolicy(affinity=T.VmAffinity.MIGRATABLE),
                      storage_error_resume_behaviour=T.VmStorageErrorResumeBehaviour.AUTO_RESUME,
                      next_run_configuration_exists=False, run_once=False, stateless=False,
                      delete_protected=False, description="", comment="", console=T.Console(enabled=False))
        for attr in _COPIED_FROM_TEMPLATE:
            val = getattr(base, attr, None)
            if val is not None:
                setattr(stored, attr, copy.deepcopy(val))
        merge(stored, vm, skip=_READ_ONLY + ("cluster", "template", "snapshots", "name"))
        self._validate_vm(stored)
        if stored.lease is not None and stored.lease.storage_domain is not None:
            sd = self.resolve("storagedomains", stored.lease.storage_domain, "VM")
            stored.lease = T.StorageDomainLease(storage_domain=ref("storagedomains", sd.id))
        if stored.placement_policy and stored.placement_policy.hosts:
            stored.placement_policy.hosts = [ref("hosts", self.resolve("hosts", h, "VM").id)
                                             for h in stored.placement_policy.hosts]
        overrides = {a.disk.id: a for a in (vm.disk_attachments or []) if a.disk is not None and a.disk.id}
        clone = query.get("clone", "false").lower() == "true" or source_snapshot is not None
        snap_images = self.store.x("vm_snapshots", source_snapshot[1].id).get("images", {}) \
            if source_snapshot is not None else {}
        self.store.put("vms", stored, extra={"gen": 0, "graphics": ["spice"]})
        # Disks: thin overlays on the template's images (full copies with clone=true).
        src_atts = (self.store.list("vm_disk_attachments", base.id) if source_snapshot else
                    self.store.list("template_disk_attachments", template.id))
        for att in src_atts:
            src_disk = self.store.get("disks", att.disk.id)
            from_old_snapshot = source_snapshot is not None and \
                source_snapshot[1].snapshot_type != T.SnapshotType.ACTIVE and src_disk is not None and \
                src_disk.id not in snap_images
            if src_disk is None or not src_disk.storage_domains or from_old_snapshot:
                continue
            src_path = snap_images.get(src_disk.id) or self.disk_path(src_disk.id)
            ov = overrides.get(src_disk.id)
            odisk = ov.disk if ov is not None else None
            sd_id = src_disk.storage_domains[0].id
            if odisk is not None and odisk.storage_domains:
                sd_id = self.resolve("storagedomains", odisk.storage_domains[0], "VM").id
            fmt = odisk.format if odisk is not None and odisk.format else (
                T.DiskFormat.COW if not clone else src_disk.format)
            disk = self.create_disk(src_disk.alias if (odisk is None or not odisk.alias) else odisk.alias,
                                    src_disk.provisioned_size, sd_id, fmt,
                                    backing=None if clone else src_path,
                                    copy_from=src_path if clone else None,
                                    sparse=True, locked_for=5)
            # AddVmCommand: the template disk's backup setting (or the request's for that disk)
            disk.backup = odisk.backup if odisk is not None and odisk.backup else (src_disk.backup or disk.backup)
            self.store.put("vm_disk_attachments", T.DiskAttachment(
                id=disk.id, disk=ref("disks", disk.id), interface=att.interface, bootable=att.bootable,
                active=True, pass_discard=False, read_only=False, uses_scsi_reservation=False,
                vm=ref("vms", stored.id)), parent=stored.id)
        src_nics = self.store.list("vm_nics", base.id) if source_snapshot else \
            self.store.list("template_nics", template.id)
        for nic in src_nics:
            self._store_nic(stored.id, T.Nic(name=nic.name, interface=nic.interface,
                                             vnic_profile=nic.vnic_profile, plugged=True, linked=True))
        self._active_snapshot(stored.id)
        self.emit(37, "VM %s creation was initiated by admin@internal-authz." % stored.name, vm=stored.id,
                  cluster=cluster.id)
        job = self.start_job("Creating VM %s from Template %s in Cluster %s" % (
            stored.name, template.name, cluster.name))
        delay = 5 if src_atts else 1
        self.schedule(delay, "vm_added", vm=stored.id, job=job)
        self.record("vm", stored.id, "image_locked")
        return render("vms", stored)

    def timer_vm_added(self, vm, job):
        obj = self.store.get("vms", vm)
        if obj is None:
            return
        obj.status = S.DOWN
        self.store.touch("vms", vm)
        self.record("vm", vm, "down")
        self.emit(53, "VM %s creation has been completed." % obj.name, vm=vm, cluster=obj.cluster.id)
        self.end_job(job)
        self.write_ovf(vm)

    def _validate_vm(self, vm):
        if vm.memory is not None and vm.memory <= 0:
            raise bad_request("Cannot add VM. Memory size must be positive")
        mp = vm.memory_policy
        if mp is not None and mp.guaranteed is not None and vm.memory is not None and mp.guaranteed > vm.memory:
            raise bad_request("Cannot add VM. Physical Memory Guaranteed cannot exceed Memory Size")
        if mp is not None and mp.max is not None and vm.memory is not None and mp.max < vm.memory:
            raise bad_request("Cannot add VM. Maximum memory size cannot be lower than memory size")
        ha = vm.high_availability
        if ha is not None and ha.priority is not None and not 0 <= ha.priority <= 100:
            raise bad_request("Cannot add VM. HA priority must be between 0 and 100")
        topo = vm.cpu.topology if vm.cpu is not None else None
        if topo is not None:
            for f in ("sockets", "cores", "threads"):
                v = getattr(topo, f)
                if v is not None and v < 1:
                    raise bad_request("Cannot add VM. CPU %s must be at least 1" % f)

    def update_vms(self, parent, vid, vm, query):
        stored = self.must("vms", vid)
        if stored.status == S.IMAGE_LOCKED:
            raise conflict("Cannot edit VM. VM is being created or is locked. Please try again in a few minutes.")
        if vm.name and vm.name != stored.name:
            if not NAME_RE.match(vm.name):
                raise bad_request("Cannot edit VM. The given name contains special characters.")
            if self.by_name("vms", vm.name) is not None:
                raise conflict("Cannot edit VM. The VM name is already in use, please choose a unique name and try again.")
        if vm.cluster is not None and (vm.cluster.id or vm.cluster.name):
            cluster = self.resolve("clusters", vm.cluster, "VM")
            if cluster.id != stored.cluster.id and stored.status != S.DOWN:
                raise conflict("Cannot edit VM. VM must be down to change its cluster.")
            vm.cluster = ref("clusters", cluster.id)
        if vm.lease is not None:
            if vm.lease.storage_domain is not None and (vm.lease.storage_domain.id or vm.lease.storage_domain.name):
                sd = self.resolve("storagedomains", vm.lease.storage_domain, "VM")
                vm.lease = T.StorageDomainLease(storage_domain=ref("storagedomains", sd.id))
        if vm.placement_policy is not None and vm.placement_policy.hosts:
            vm.placement_policy.hosts = [ref("hosts", self.resolve("hosts", h, "VM").id)
                                         for h in vm.placement_policy.hosts]
        candidate = copy.deepcopy(stored)
        _apply_vm_update(candidate, vm)
        self._validate_vm(candidate)
        running = stored.status in RUNNING
        x = self.store.x("vms", vid)
        if running:
            cold = T.Vm()
            hot = T.Vm()
            for key, val in vars(vm).items():
                name = key.lstrip("_")
                if val is None or name in _READ_ONLY:
                    continue
                target = cold if name in _COLD or (name == "memory" and val < (stored.memory or 0)) else hot
                setattr(target, key, val)
            if vm.placement_policy is not None and vm.placement_policy.hosts is not None:
                cold.placement_policy = vm.placement_policy
                hot.placement_policy = None
            _apply_vm_update(stored, hot)
            if any(v is not None for v in vars(cold).values()):
                pending = Reader.read(x["next_run"]) if x.get("next_run") else T.Vm()
                _apply_vm_update(pending, cold)
                x["next_run"] = Writer.write(pending)
                stored.next_run_configuration_exists = True
        else:
            _apply_vm_update(stored, vm)
        self.store.touch("vms", vid)
        self.emit(35, "VM %s configuration was updated by admin@internal-authz." % stored.name, vm=vid,
                  cluster=stored.cluster.id)
        self.write_ovf(vid)
        return self._vm_view(stored, query)

    def vm_rendered(self, stored, query):
        """A VM as listed or read: with ``all_content=true`` the Engine adds the OVF configuration."""
        out = render("vms", stored)
        if self.guest_reports(stored):
            out.fqdn = "%s.example.test" % stored.name.lower()   # the guest's hostname, as its agent reports it
        if query.get("all_content", "false").lower() == "true":
            init = copy.deepcopy(out.initialization) if out.initialization is not None else T.Initialization()
            init.configuration = T.Configuration(type=T.ConfigurationType.OVF, data=self.vm_ovf(stored))
            out.initialization = init
        return out

    def _vm_view(self, stored, query):
        out = self.vm_rendered(stored, query)
        if query.get("next_run", "false").lower() == "true":
            x = self.store.extra.get("vms", {}).get(stored.id, {})
            if x.get("next_run"):
                out = copy.deepcopy(out)
                _apply_vm_update(out, Reader.read(x["next_run"]))
        return out

    def get_vms(self, parent, vid, query):
        return self._vm_view(self.must("vms", vid), query)

    # -- the guest agent --------------------------------------------------------------------------
    # What the Engine shows from a running guest's agent (qemu-guest-agent through VDSM): ``fqdn`` and, per vNIC,
    # a reported device with the guest's addresses (``/vms/{id}/reporteddevices``, ``/vms/{id}/nics/{id}/
    # reporteddevices``). Simulated guests run an agent (``POST /sim/vms/NAME {"guest_agent": false}`` turns it
    # off); their addresses follow from the vNIC's MAC, see ``guest_ips``.
    def guest_reports(self, vm):
        if vm.status not in GUEST_AGENT_UP:
            return False
        return self.store.extra.get("vms", {}).get(vm.id, {}).get("guest_agent", True)

    def _reported_device(self, vm, nic):
        mac = nic.mac.address if nic.mac is not None else None
        return T.ReportedDevice(
            id=str(uuid.uuid5(uuid.NAMESPACE_OID, "reported/%s" % nic.id)), name=nic.name, description="guest agent",
            type=T.ReportedDeviceType.NETWORK, mac=T.Mac(address=mac),
            ips=[T.Ip(address=a, version=T.IpVersion(v)) for a, v in guest_ips(mac)],
            vm=ref("vms", vm.id))

    def view_vms_reporteddevices(self, vid, query):
        vm = self.must("vms", vid)
        if not self.guest_reports(vm):
            return []
        return [self._reported_device(vm, n) for n in self.store.list("vm_nics", vid)
                if n.plugged is not False and n.mac is not None]

    def view_vm_nics_reporteddevices(self, nid, query):
        vid = self.store.parent_of("vm_nics", nid)
        vm = self.must("vms", vid)
        nic = self.must("vm_nics", nid, vid)
        if not self.guest_reports(vm) or nic.plugged is False or nic.mac is None:
            return []
        return [self._reported_device(vm, nic)]

    def remove_vms(self, parent, vid, query):
        vm = self.must("vms", vid)
        if vm.status == S.IMAGE_LOCKED:
            raise conflict("Cannot remove VM. VM is locked. Please try again in a few minutes.")
        if vm.status != S.DOWN and vm.status != S.SUSPENDED:
            raise conflict("Cannot remove VM. VM is running.")
        if vm.delete_protected:
            raise conflict("Cannot remove VM. VM is delete protected.")
        if vm.vm_pool is not None:
            raise conflict("Cannot remove VM. VM is attached to a VM-Pool.")
        self.backup_guard(vm, "remove")
        detach_only = query.get("detach_only", "false").lower() == "true"
        for att in self.store.list("vm_disk_attachments", vid):
            self.store.delete("vm_disk_attachments", att.id)
            if not detach_only:
                self.delete_disk(att.disk.id)
        for coll in ("vm_nics", "vm_snapshots", "vm_tags", "vm_checkpoints", "vm_backups"):
            for child in self.store.list(coll, vid):
                self.store.delete(coll, child.id)
        for group in self.store.list("cluster_affinity_groups", vm.cluster.id):
            if group.vms and any(v.id == vid for v in group.vms):
                group.vms = [v for v in group.vms if v.id != vid]
                self.store.touch("cluster_affinity_groups", group.id)
        self.store.delete("vms", vid)
        self.remove_ovf(vid)
        self.emit(113, "VM %s was successfully removed." % vm.name, cluster=vm.cluster.id)
        self.record("vm", vid, "removed")

    # -- power actions ----------------------------------------------------------------------------
    def _bump(self, vid):
        x = self.store.x("vms", vid)
        x["gen"] = x.get("gen", 0) + 1
        self.store.touch("vms", vid)
        return x["gen"]

    def _set_status(self, vm, status, **extra):
        vm.status = status
        self.store.touch("vms", vm.id)
        self.record("vm", vm.id, status.value, host=vm.host.id if vm.host else None, **extra)

    def _locked_check(self, vm, what):
        if vm.status == S.IMAGE_LOCKED:
            raise conflict("Cannot %s VM. VM %s is locked. Please try again in a few minutes." % (what, vm.name))
        for att in self.store.list("vm_disk_attachments", vm.id):
            disk = self.store.get("disks", att.disk.id)
            if disk is not None and disk.status == T.DiskStatus.LOCKED:
                raise conflict("Cannot %s VM: Disk %s is locked. Please try again in a few minutes." % (what, disk.alias))

    def action_vms_start(self, parent, vid, action, query):
        vm = self.must("vms", vid)
        self._locked_check(vm, "run")
        if vm.status != S.PAUSED:
            self.backup_guard(vm, "run")     # backups.py: RunVmCommand refuses a VM during a backup
        if vm.status in (S.SUSPENDED,):
            return self._resume(vm)
        if vm.status == S.PAUSED:
            self._set_status(vm, S.UP)
            return self.action_result()
        if vm.status != S.DOWN:
            raise conflict("Cannot run VM. VM is running.")
        wanted = action.vm.placement_policy.hosts[0] if (action.vm is not None and action.vm.placement_policy
                                                         and action.vm.placement_policy.hosts) else None
        if wanted is not None:
            wanted = self.resolve("hosts", wanted, "VM")
        self.check_vm_storage(vm, "run")
        host, why = self.pick_host(vm, wanted=wanted)
        if host is None:
            self.emit(54, "Failed to run VM %s (User: admin@internal-authz)." % vm.name, "error", vm=vid,
                      cluster=vm.cluster.id)
            raise conflict("Cannot run VM. There is no host that satisfies current scheduling constraints. "
                           "See below for details:, The host did not satisfy internal filter Memory: %s." % why)
        x = self.store.x("vms", vid)
        if action.use_cloud_init or (action.vm is not None and action.vm.initialization is not None):
            x["run_once_init"] = True
            vm.run_once = True
        gen = self._bump(vid)
        vm.host = ref("hosts", host.id)
        vm.start_time = self.now_dt()
        vm.stop_time = None
        self._set_status(vm, S.WAIT_FOR_LAUNCH)
        job = self.start_job("Launching VM %s" % vm.name, action.correlation_id if hasattr(action, "correlation_id") else None)
        self.emit(153, "VM %s was started by admin@internal-authz (Host: %s)." % (vm.name, host.name), vm=vid,
                  host=host.id, cluster=vm.cluster.id)
        boot = self.boot_seconds(vm)
        self.schedule(min(2.0, boot / 4), "vm_status", vm=vid, gen=gen, status="powering_up")
        self.schedule(boot, "vm_up", vm=vid, gen=gen, job=job, code=32)
        return self.action_result(job=job)

    def boot_seconds(self, vm):
        x = self.store.extra.get("vms", {}).get(vm.id, {})
        if "boot_seconds" in x:
            return float(x["boot_seconds"])
        base = float(self.tunables.get("vm_boot_seconds", 20.0))
        # Deterministic spread per VM (±20 %), so fleets do not all come up at the same instant.
        spread = (int(vm.id.replace("-", "")[:8], 16) % 41 - 20) / 100.0
        return base * (1 + spread)

    def timer_vm_status(self, vm, gen, status):
        obj = self.store.get("vms", vm)
        if obj is None or self.store.x("vms", vm).get("gen") != gen:
            return
        self._set_status(obj, S(status))

    def timer_vm_up(self, vm, gen, job=None, code=None):
        obj = self.store.get("vms", vm)
        if obj is None or self.store.x("vms", vm).get("gen") != gen:
            return
        host = self.store.get("hosts", obj.host.id) if obj.host else None
        if host is None or host.status not in (T.HostStatus.UP, T.HostStatus.PREPARING_FOR_MAINTENANCE):
            self._vm_down(obj, error="host is not up")
            if job:
                self.end_job(job, ok=False)
            return
        self._set_status(obj, S.UP)
        obj.guest_operating_system = None
        if code == 32:
            self.emit(32, "VM %s started on Host %s" % (obj.name, host.name), vm=vm, host=host.id,
                      cluster=obj.cluster.id)
        elif code == 506:
            self.emit(506, "VM %s was restarted on Host %s as HA VM" % (obj.name, host.name), vm=vm, host=host.id,
                      cluster=obj.cluster.id)
        elif code:
            self.emit(code, "VM %s is up on Host %s" % (obj.name, host.name), vm=vm, host=host.id,
                      cluster=obj.cluster.id)
        if job:
            self.end_job(job)

    def _vm_down(self, vm, error=None, code=None, announce=True):
        self._bump(vm.id)
        x = self.store.x("vms", vm.id)
        x.pop("migrating_to", None)
        x.pop("run_once_init", None)
        host_id = vm.host.id if vm.host else None
        vm.host = None
        vm.stop_time = self.now_dt()
        vm.run_once = False
        x["down_error"] = bool(error)  # a crash, not a user's stop: counts against availability
        self._set_status(vm, S.DOWN, error=error)
        if x.get("next_run"):
            _apply_vm_update(vm, Reader.read(x.pop("next_run")))
            vm.next_run_configuration_exists = False
        if vm.use_latest_template_version and vm.template is not None and self.store.get("templates", vm.template.id):
            latest = self.latest_template(self.store.get("templates", vm.template.id))
            if latest.id != vm.template.id and latest.status == T.TemplateStatus.OK:
                self.rebase_vm(vm, latest)   # ProcessDownVmCommand → UpdateVmVersion
        if not announce:
            pass
        elif error:
            self.emit(code or 119, "VM %s is down with error. Exit message: %s." % (vm.name, error), "error",
                      vm=vm.id, host=host_id, cluster=vm.cluster.id)
        else:
            self.emit(61, "VM %s is down. Exit message: User shut down from within the guest" % vm.name,
                      vm=vm.id, host=host_id, cluster=vm.cluster.id)
        self.store.touch("vms", vm.id)

    def action_vms_stop(self, parent, vid, action, query):
        vm = self.must("vms", vid)
        if vm.status == S.SUSPENDED:
            self._bump(vid)
            self._set_status(vm, S.DOWN)
            self.emit(111, "Suspended VM %s has had its save state cleared by admin@internal-authz." % vm.name,
                      vm=vid, cluster=vm.cluster.id)
            return self.action_result()
        if vm.status not in RUNNING:
            raise conflict("Cannot stop VM. VM is not running.")
        if not action.force:
            self.backup_guard(vm, "stop")
        self.emit(33, "VM %s powered off by admin@internal-authz (Host: %s)." % (
            vm.name, self._host_name(vm)), vm=vid, cluster=vm.cluster.id)
        self._vm_down(vm)
        return self.action_result()

    def action_vms_shutdown(self, parent, vid, action, query):
        vm = self.must("vms", vid)
        if vm.status not in RUNNING:
            raise conflict("Cannot shutdown VM. VM is not running.")
        if not action.force:
            self.backup_guard(vm, "shutdown")
        if vm.status != S.UP:
            return self.action_vms_stop(parent, vid, action, query)
        gen = self._bump(vid)
        self._set_status(vm, S.POWERING_DOWN)
        self.emit(73, "VM shutdown initiated by admin@internal-authz on VM %s (Host: %s)." % (
            vm.name, self._host_name(vm)), vm=vid, cluster=vm.cluster.id)
        self.schedule(float(self.tunables.get("vm_shutdown_seconds", 8)), "vm_shutdown_done", vm=vid, gen=gen)
        return self.action_result()

    def timer_vm_shutdown_done(self, vm, gen):
        obj = self.store.get("vms", vm)
        if obj is not None and self.store.x("vms", vm).get("gen") == gen:
            self._vm_down(obj)

    def action_vms_reboot(self, parent, vid, action, query):
        vm = self.must("vms", vid)
        if vm.status != S.UP:
            raise conflict("Cannot reboot VM. VM is not running.")
        self.backup_guard(vm, "restart")
        gen = self._bump(vid)
        self._set_status(vm, S.REBOOT_IN_PROGRESS)
        self.emit(157, "VM %s was restarted by admin@internal-authz." % vm.name, vm=vid, cluster=vm.cluster.id)
        self.schedule(self.boot_seconds(vm) * 0.6, "vm_up", vm=vid, gen=gen)
        return self.action_result()

    def action_vms_suspend(self, parent, vid, action, query):
        vm = self.must("vms", vid)
        if vm.status != S.UP:
            raise conflict("Cannot suspend VM. VM is not running.")
        self.backup_guard(vm, "hibernate")
        gen = self._bump(vid)
        self._set_status(vm, S.SAVING_STATE)
        self.schedule(3 + (vm.memory or 0) / GIB, "vm_suspended", vm=vid, gen=gen)
        return self.action_result()

    def timer_vm_suspended(self, vm, gen):
        obj = self.store.get("vms", vm)
        if obj is not None and self.store.x("vms", vm).get("gen") == gen:
            obj.host = None
            self._set_status(obj, S.SUSPENDED)

    def _resume(self, vm):
        host, why = self.pick_host(vm)
        if host is None:
            raise conflict("Cannot run VM. There is no host that satisfies current scheduling constraints. %s" % why)
        gen = self._bump(vm.id)
        vm.host = ref("hosts", host.id)
        self._set_status(vm, S.RESTORING_STATE)
        self.schedule(3 + (vm.memory or 0) / GIB, "vm_up", vm=vm.id, gen=gen, code=32)
        return self.action_result()

    def _host_name(self, vm):
        host = self.store.get("hosts", vm.host.id) if vm.host else None
        return host.name if host else "N/A"

    # -- migration ------------------------------------------------------------------------------
    def migration_seconds(self, vm):
        per_gib = float(self.tunables.get("migration_seconds_per_gib", 1.25))
        return float(self.tunables.get("migration_base_seconds", 2.0)) + per_gib * (vm.memory or 0) / GIB

    def action_vms_migrate(self, parent, vid, action, query):
        vm = self.must("vms", vid)
        if vm.status != S.UP:
            raise conflict("Cannot migrate VM. VM %s is not running." % vm.name if vm.status not in RUNNING else
                           "Cannot migrate VM. VM %s is not Up (status: %s)." % (vm.name, vm.status.value))
        self.backup_guard(vm, "migrate")
        wanted = self.resolve("hosts", action.host, "VM", required=False) if action.host is not None else None
        host, why = self.start_migration(vm, wanted=wanted, force=bool(action.force))
        if host is None:
            raise conflict("Cannot migrate VM. %s" % why)
        job = self.store.x("vms", vid).get("migration_job")
        return self.action_result(job=job)

    def start_migration(self, vm, wanted=None, force=False, reason=None):
        """Begin migrating ``vm`` off its host. Returns (destination, None) or (None, why)."""
        affinity = vm.placement_policy.affinity if vm.placement_policy else T.VmAffinity.MIGRATABLE
        if affinity == T.VmAffinity.PINNED or (affinity == T.VmAffinity.USER_MIGRATABLE and reason and not force):
            return None, "VM %s is pinned to a host (placement policy %s)." % (vm.name, affinity.value)
        source = vm.host.id if vm.host else None
        host, why = self.pick_host(vm, exclude={source}, wanted=wanted)
        if host is None:
            return None, "There is no host that satisfies current scheduling constraints: %s." % why
        gen = self._bump(vm.id)
        x = self.store.x("vms", vm.id)
        x["migrating_to"] = host.id
        job = self.start_job("Migrating VM %s to Host %s" % (vm.name, host.name))
        x["migration_job"] = job
        self._set_status(vm, S.MIGRATING, to=host.id)
        self.emit(62, "Migration started (VM: %s, Source: %s, Destination: %s, User: admin@internal-authz). "
                      "Reason: %s" % (vm.name, self._host_name(vm), host.name, reason or "user request"),
                  vm=vm.id, host=source, cluster=vm.cluster.id)
        self.schedule(self.migration_seconds(vm), "vm_migrated", vm=vm.id, gen=gen, job=job, source=source)
        return host, None

    def timer_vm_migrated(self, vm, gen, job, source):
        obj = self.store.get("vms", vm)
        x = self.store.x("vms", vm)
        if obj is None or x.get("gen") != gen:
            return
        dest_id = x.pop("migrating_to", None)
        dest = self.store.get("hosts", dest_id) if dest_id else None
        # A destination that went into maintenance meanwhile still takes the VM (vdsm runs there); the Engine then
        # moves it on as part of that host's maintenance.
        fail = self.take_fault("migration_failure", vm=obj.name) or dest is None or dest.status not in (
            T.HostStatus.UP, T.HostStatus.PREPARING_FOR_MAINTENANCE)
        if fail:
            self._set_status(obj, S.UP)
            self.emit(65, "Migration failed (VM: %s, Source: %s, Destination: %s)." % (
                obj.name, self._host_name(obj), dest.name if dest else "N/A"), "error", vm=vm, host=source,
                cluster=obj.cluster.id)
            self.end_job(job, ok=False)
            self.on_migration_done(source, ok=False)
            return
        obj.host = ref("hosts", dest.id)
        self._set_status(obj, S.UP)
        self.emit(63, "Migration completed (VM: %s, Source: %s, Destination: %s, Duration: %d seconds)." % (
            obj.name, (self.store.get("hosts", source).name if self.store.get("hosts", source) else "N/A"),
            dest.name, self.migration_seconds(obj)), vm=vm, host=dest.id, cluster=obj.cluster.id)
        self.end_job(job)
        self.on_migration_done(source, ok=True)
        if dest.status == T.HostStatus.PREPARING_FOR_MAINTENANCE:
            moved, why = self.start_migration(obj, reason="Host preparing for maintenance")
            if moved is None:
                self._maintenance_failed(dest, "%s: %s" % (obj.name, why))

    def action_vms_cancelmigration(self, parent, vid, action, query):
        vm = self.must("vms", vid)
        if vm.status != S.MIGRATING:
            raise conflict("Cannot cancel migration for VM. VM %s is not being migrated." % vm.name)
        x = self.store.x("vms", vid)
        x.pop("migrating_to", None)
        self._bump(vid)
        self._set_status(vm, S.UP)
        self.emit(65, "Migration failed: canceled by user (VM: %s)." % vm.name, "error", vm=vid,
                  cluster=vm.cluster.id)
        return self.action_result()

    def action_vms_reordermacaddresses(self, parent, vid, action, query):
        self.must("vms", vid)
        return self.action_result()

    def action_vms_freezefilesystems(self, parent, vid, action, query):
        vm = self.must("vms", vid)
        if vm.status != S.UP:
            raise conflict("Cannot freeze filesystems of VM. VM is not running.")
        return self.action_result()

    action_vms_thawfilesystems = action_vms_freezefilesystems

    # -- crash (fault injection) ----------------------------------------------------------------
    def crash_vm(self, vm, reason="crashed (simulated)"):
        if vm.status not in RUNNING:
            raise ApiError(409, "VM %s is not running" % vm.name)
        host_id = vm.host.id if vm.host else None
        self._vm_down(vm, error=reason)
        if vm.high_availability is not None and vm.high_availability.enabled:
            self.emit(9602, "Highly Available VM %s failed. It will be restarted automatically." % vm.name,
                      "error", vm=vm.id, host=host_id, cluster=vm.cluster.id)
            self.schedule(float(self.tunables.get("ha_restart_delay_seconds", 5)), "ha_restart", vm=vm.id)

    def timer_ha_restart(self, vm):
        obj = self.store.get("vms", vm)
        if obj is None or obj.status != S.DOWN:
            return
        host, why = self.pick_host(obj)
        if host is None:
            self.emit(9603, "Highly Available VM %s could not be restarted: %s" % (obj.name, why), "error",
                      vm=vm, cluster=obj.cluster.id)
            return
        gen = self._bump(vm)
        obj.host = ref("hosts", host.id)
        obj.start_time = self.now_dt()
        self._set_status(obj, S.WAIT_FOR_LAUNCH)
        self.emit(153, "VM %s was started by the Engine (Host: %s) to restart it as a Highly Available VM." % (
            obj.name, host.name), vm=vm, host=host.id, cluster=obj.cluster.id)
        self.schedule(self.boot_seconds(obj), "vm_up", vm=vm, gen=gen, code=506)

    # -- NICs ----------------------------------------------------------------------------------------
    def _new_mac(self):
        n = int(self.store.meta.get("mac_next", 0))
        self.store.set_meta("mac_next", n + 1)
        return "56:6f:%02x:%02x:%02x:%02x" % ((n >> 24) & 0xFF, (n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF)

    def _store_nic(self, vid, nic, coll="vm_nics"):
        if nic.mac is not None and nic.mac.address:
            mac = nic.mac.address
        elif coll == "vm_nics":
            mac = self.allocate_mac(self.store.get("vms", vid).cluster.id)    # from the cluster's MAC pool
        else:
            mac = self._new_mac()
        stored = T.Nic(id=new_id(), name=nic.name, interface=nic.interface or T.NicInterface.VIRTIO,
                       mac=T.Mac(address=mac.lower()), plugged=True if nic.plugged is None else nic.plugged,
                       linked=True if nic.linked is None else nic.linked,
                       vnic_profile=ref("vnicprofiles", nic.vnic_profile.id) if nic.vnic_profile is not None
                       and nic.vnic_profile.id else None)
        if coll == "vm_nics":
            stored.vm = ref("vms", vid)
        else:
            stored.template = ref("templates", vid)
        return self.store.put(coll, stored, parent=vid)

    def _check_nic(self, vid, nic, coll, existing_id=None):
        if nic.name is not None:
            for other in self.store.list(coll, vid):
                if other.name == nic.name and other.id != existing_id:
                    raise conflict("Cannot add Interface. The name %s is already in use, please choose a unique "
                                   "name and try again." % nic.name)
        if nic.mac is not None and nic.mac.address:
            if not _mac_ok(nic.mac.address):
                raise bad_request("Cannot add Interface. MAC Address %s is invalid." % nic.mac.address)
            if int(nic.mac.address.split(":")[0], 16) & 1:
                raise bad_request("Cannot add Interface. MAC address %s is a multicast address." % nic.mac.address)
            owner = self.store.get("vms", vid) if coll == "vm_nics" else None
            if not self._mac_duplicates_allowed(owner):
                # MAC addresses are unique within a MAC pool: among the vNICs of the clusters that share it
                pool = self.cluster_mac_pool(owner.cluster.id) if owner is not None and owner.cluster else None
                for other in (self.pool_nics(pool.id) if pool is not None else self.store.list("vm_nics")):
                    if other.mac is not None and other.mac.address == nic.mac.address.lower() and \
                            other.id != existing_id:
                        raise conflict("Cannot %s Interface. MAC Address %s is already in use." % (
                            "edit" if existing_id else "add", nic.mac.address))
        if nic.vnic_profile is not None and (nic.vnic_profile.id or nic.vnic_profile.name):
            nic.vnic_profile = ref("vnicprofiles", self.resolve("vnicprofiles", nic.vnic_profile, "Interface").id)

    def add_vm_nics(self, vid, nic, query):
        vm = self.must("vms", vid)
        if not nic.name:
            raise bad_request("Cannot add Interface. The following field is required: name")
        self._check_nic(vid, nic, "vm_nics")
        stored = self._store_nic(vid, nic)
        self.emit(932, "Interface %s (%s) was added to VM %s." % (stored.name, stored.interface.value, vm.name),
                  vm=vid, cluster=vm.cluster.id)
        self.write_ovf(vid)
        return render("vm_nics", stored, vid)

    def update_vm_nics(self, vid, nid, nic, query):
        stored = self.must("vm_nics", nid, vid)
        self._check_nic(vid, nic, "vm_nics", existing_id=nid)
        if nic.mac is not None and nic.mac.address:
            nic.mac.address = nic.mac.address.lower()
        merge(stored, nic, skip=("vm", "statistics"))
        self.store.touch("vm_nics", nid)
        self.write_ovf(vid)
        return render("vm_nics", stored, vid)

    def _plug_nic(self, vid, nid, plugged):
        vm = self.must("vms", vid)
        nic = self.must("vm_nics", nid, vid)
        if plugged and vm.status in RUNNING and nic.mac is not None:
            for other in self.store.list("vm_nics"):
                if other.id != nid and other.plugged and other.mac is not None and \
                        other.mac.address == nic.mac.address and not self._mac_duplicates_allowed(vm):
                    raise conflict("Cannot activate Interface. MAC Address %s is already in use." % nic.mac.address)
        nic.plugged = plugged
        self.store.touch("vm_nics", nid)
        self.emit(1012 if plugged else 1013, "Network Interface %s (%s) was %s on VM %s." % (
            nic.name, nic.interface.value if nic.interface else "virtio", "plugged" if plugged else "unplugged",
            vm.name), vm=vid, cluster=vm.cluster.id)
        self.write_ovf(vid)
        return self.action_result()

    def action_vm_nics_activate(self, vid, nid, action, query):
        return self._plug_nic(vid, nid, True)

    def action_vm_nics_deactivate(self, vid, nid, action, query):
        return self._plug_nic(vid, nid, False)

    def _mac_duplicates_allowed(self, vm):
        """The MAC pool of the VM's cluster decides (``allow_duplicates``); the default pool does not."""
        cluster = self.store.get("clusters", vm.cluster.id) if vm is not None and vm.cluster else None
        pool_ref = getattr(cluster, "mac_pool", None) if cluster is not None else None
        pool = self.store.get("macpools", pool_ref.id) if pool_ref is not None and pool_ref.id and \
            "macpools" in self.store.objs else None
        return bool(pool is not None and pool.allow_duplicates)

    def remove_vm_nics(self, vid, nid, query):
        self.remove_generic("vm_nics", nid, vid)
        self.write_ovf(vid)

    def add_template_nics(self, tid, nic, query):
        self.must("templates", tid)
        self._check_nic(tid, nic, "template_nics")
        return render("template_nics", self._store_nic(tid, nic, "template_nics"), tid)

    # -- disk attachments ----------------------------------------------------------------------------
    def add_vm_disk_attachments(self, vid, att, query):
        vm = self.must("vms", vid)
        if att.interface is None:
            raise bad_request("Cannot add Virtual Disk. The following field is required: interface")
        if att.disk is None:
            raise bad_request("Cannot add Virtual Disk. The following field is required: disk")
        if att.disk.id and self.store.get("disks", att.disk.id) is not None:
            disk = self.store.get("disks", att.disk.id)
            for other_vm in self.store.list("vms"):
                if self.store.get("vm_disk_attachments", disk.id) is not None and \
                        self.store.parent_of("vm_disk_attachments", disk.id) == other_vm.id:
                    raise conflict("Cannot attach Virtual Disk. The disk is already attached to VM %s." % other_vm.name)
        else:
            disk = self.add_disks(None, att.disk, query, raw=True)
        if att.bootable:
            for other in self.store.list("vm_disk_attachments", vid):
                if other.bootable:
                    raise conflict("Cannot add Virtual Disk. Disk %s is already marked as boot." %
                                   self.store.get("disks", other.disk.id).alias)
        stored = T.DiskAttachment(id=disk.id, disk=ref("disks", disk.id), interface=att.interface,
                                  bootable=bool(att.bootable), active=True if att.active is None else att.active,
                                  pass_discard=bool(att.pass_discard), read_only=bool(att.read_only),
                                  uses_scsi_reservation=False, logical_name=None, vm=ref("vms", vid))
        self.store.put("vm_disk_attachments", stored, parent=vid)
        self.emit(97, "The disk %s was successfully added to VM %s." % (disk.alias, vm.name), vm=vid,
                  cluster=vm.cluster.id)
        self.write_ovf(vid)
        return render("vm_disk_attachments", stored, vid)

    def update_vm_disk_attachments(self, vid, aid, att, query):
        stored = self.must("vm_disk_attachments", aid, vid)
        if att.bootable:
            for other in self.store.list("vm_disk_attachments", vid):
                if other.bootable and other.id != aid:
                    raise conflict("Cannot update Virtual Disk. Another disk is already marked as boot.")
        disk_update = att.disk
        att.disk = None
        merge(stored, att, skip=("vm",))
        if disk_update is not None:
            self.update_disks(None, stored.disk.id, disk_update, query)
        self.store.touch("vm_disk_attachments", aid)
        self.write_ovf(vid)
        return render("vm_disk_attachments", stored, vid)

    def remove_vm_disk_attachments(self, vid, aid, query):
        vm = self.must("vms", vid)
        att = self.must("vm_disk_attachments", aid, vid)
        if att.active and vm.status in RUNNING:
            raise conflict("Cannot detach Virtual Disk. Disk is activated; deactivate it first.")
        self.store.delete("vm_disk_attachments", aid)
        if query.get("detach_only", "true").lower() == "false":
            self.delete_disk(att.disk.id)
        self.write_ovf(vid)

    def get_vm_disk_attachments(self, vid, aid, query):
        return render("vm_disk_attachments", self.must("vm_disk_attachments", aid, vid), vid)

    # -- snapshots -------------------------------------------------------------------------------------
    def _active_snapshot(self, vid):
        snap = T.Snapshot(id=new_id(), description="Active VM", snapshot_type=T.SnapshotType.ACTIVE,
                          snapshot_status=T.SnapshotStatus.OK, date=self.now_dt(), persist_memorystate=False,
                          vm=ref("vms", vid))
        return self.store.put("vm_snapshots", snap, parent=vid)

    def _find_snapshot(self, sid):
        for snap in self.store.list("vm_snapshots"):
            if snap.id == sid:
                vid = self.store.parent_of("vm_snapshots", sid)
                return self.store.get("vms", vid), snap
        raise ApiError(404, "Entity not found: Snapshot: id=%s" % sid)

    def _snapshot_disk_view(self, disk, image_path=None):
        out = copy.deepcopy(disk)
        out.href = None
        if image_path:
            out.image_id = os.path.basename(image_path)
            out.actual_size = out.total_size = _actual(image_path)
        out.status = T.DiskStatus.OK
        return out

    def add_vm_snapshots(self, vid, snap, query):
        vm = self.must("vms", vid)
        self._locked_check(vm, "create snapshot for")
        self._preview_check(vm, "create")
        for other in self.store.list("vm_snapshots", vid):
            if other.snapshot_status == T.SnapshotStatus.LOCKED:
                raise conflict("Cannot create Snapshot. Snapshot is currently being created for VM %s." % vm.name)
        disk_ids = [d.disk.id for d in (snap.disk_attachments or []) if d.disk is not None] or None
        stored = T.Snapshot(id=new_id(), description=snap.description or "", snapshot_type=T.SnapshotType.REGULAR,
                            snapshot_status=T.SnapshotStatus.LOCKED, date=self.now_dt(),
                            persist_memorystate=bool(snap.persist_memorystate) and vm.status == S.UP,
                            vm=ref("vms", vid))
        self.store.put("vm_snapshots", stored, parent=vid)
        images, disks = {}, []
        for att in self.store.list("vm_disk_attachments", vid):
            if disk_ids is None or att.disk.id in disk_ids:
                images[att.disk.id] = self.snapshot_disk(att.disk.id)
                disk = self.store.get("disks", att.disk.id)
                disks.append(Writer.write(self._snapshot_disk_view(disk, images[att.disk.id])))
        x = self.store.x("vm_snapshots", stored.id)
        x["images"] = images
        x["disks"] = disks
        x["config"] = Writer.write(copy.deepcopy(vm))
        job = self.start_job("Creating VM Snapshot %s for VM %s" % (stored.description, vm.name))
        self.emit(45, "Snapshot '%s' creation for VM '%s' was initiated by admin@internal-authz." % (
            stored.description, vm.name), vm=vid, cluster=vm.cluster.id)
        fail = self.take_fault("snapshot_failure", vm=vm.name)
        self.schedule(float(self.tunables.get("snapshot_seconds", 5)), "snapshot_done", vm=vid, snap=stored.id,
                      job=job, ok=not fail)
        return render("vm_snapshots", stored, vid)

    def timer_snapshot_done(self, vm, snap, job, ok=True):
        obj = self.store.get("vm_snapshots", snap)
        v = self.store.get("vms", vm)
        if obj is None or v is None:
            return
        if ok:
            obj.snapshot_status = T.SnapshotStatus.OK
            self.store.touch("vm_snapshots", snap)
            self.emit(68, "Snapshot '%s' creation for VM '%s' has been completed." % (obj.description, v.name),
                      vm=vm, cluster=v.cluster.id)
        else:
            self.store.delete("vm_snapshots", snap)
            self.emit(69, "Failed to complete snapshot '%s' creation for VM '%s'." % (obj.description, v.name),
                      "error", vm=vm, cluster=v.cluster.id)
        self.end_job(job, ok)

    def view_vm_snapshots_disks(self, sid, query):
        snap = self.must("vm_snapshots", sid)
        vid = self.store.parent_of("vm_snapshots", sid)
        if snap.snapshot_type == T.SnapshotType.ACTIVE:
            out = [self._snapshot_disk_view(self.store.get("disks", a.disk.id))
                   for a in self.store.list("vm_disk_attachments", vid) if self.store.get("disks", a.disk.id)]
        else:
            out = [Reader.read(d) for d in self.store.x("vm_snapshots", sid).get("disks", [])]
        for d in out:
            d.snapshot = ref("vm_snapshots", sid, vid)
            d.href = "/ovirt-engine/api/vms/%s/snapshots/%s/disks/%s" % (vid, sid, d.id)
        return out

    def remove_vm_snapshots(self, vid, sid, query):
        vm = self.must("vms", vid)
        snap = self.must("vm_snapshots", sid, vid)
        if snap.snapshot_type == T.SnapshotType.ACTIVE:
            raise conflict("Cannot remove Snapshot. The active snapshot cannot be removed.")
        if snap.snapshot_status == T.SnapshotStatus.LOCKED:
            raise conflict("Cannot remove Snapshot. Snapshot is currently being created for VM %s." % vm.name)
        self._preview_check(vm, "remove")
        self.backup_guard(vm, "remove", "Snapshot")
        self.store.delete("vm_snapshots", sid)
        self.emit(342, "Snapshot '%s' deletion for VM '%s' has been completed." % (snap.description, vm.name),
                  vm=vid, cluster=vm.cluster.id)

    # -- snapshot preview / commit / undo / restore ------------------------------------------------------
    def _preview_check(self, vm, what):
        for s in self.store.list("vm_snapshots", vm.id):
            if s.snapshot_status == T.SnapshotStatus.IN_PREVIEW:
                raise conflict("Cannot %s Snapshot. VM is previewing a Snapshot." % what)

    def _previewed(self, vm, what):
        for s in self.store.list("vm_snapshots", vm.id):
            if s.snapshot_status == T.SnapshotStatus.IN_PREVIEW:
                return s
        raise conflict("Cannot %s Snapshot. VM is not during Snapshot preview." % what)

    def _start_preview(self, vm, snap, what="preview"):
        if vm.status != S.DOWN:
            raise conflict("Cannot %s Snapshot. VM must be down." % what)
        self._locked_check(vm, what)
        self._preview_check(vm, what)
        if snap.snapshot_type == T.SnapshotType.ACTIVE:
            raise conflict("Cannot %s Snapshot. The active snapshot cannot be previewed." % what)
        if snap.snapshot_status != T.SnapshotStatus.OK:
            raise conflict("Cannot %s Snapshot. Snapshot is locked." % what)
        sx = self.store.x("vm_snapshots", snap.id)
        saved = {}
        for did, image in sx.get("images", {}).items():
            dx = self.store.x("disks", did)
            if self.store.get("disks", did) is None or not image or not os.path.exists(image):
                continue
            saved[did] = dx.get("path")
            overlay = os.path.join(os.path.dirname(image), new_id())
            from .storage import _fmt_of, qemu_img
            qemu_img("create", "-q", "-f", "qcow2", "-b", image, "-F", _fmt_of(image), overlay)
            dx["path"] = overlay
            self.store.get("disks", did).image_id = os.path.basename(overlay)
            self.store.touch("disks", did)
        before = T.Snapshot(id=new_id(), description="Active VM before the preview",
                            snapshot_type=T.SnapshotType.PREVIEW, snapshot_status=T.SnapshotStatus.OK,
                            date=self.now_dt(), persist_memorystate=False, vm=ref("vms", vm.id))
        self.store.put("vm_snapshots", before, parent=vm.id,
                       extra={"saved_paths": saved, "config": Writer.write(copy.deepcopy(vm))})
        if sx.get("config"):
            _apply_vm_update(vm, _restorable(Reader.read(sx["config"])))
        snap.snapshot_status = T.SnapshotStatus.IN_PREVIEW
        self.store.touch("vm_snapshots", snap.id)
        gen = self._bump(vm.id)
        self._set_status(vm, S.IMAGE_LOCKED)
        job = self.start_job("Previewing Snapshot %s for VM %s" % (snap.description, vm.name))
        self.emit(44, "Snapshot-Preview %s for VM %s was initiated by "
                  "admin@internal-authz." % (snap.description, vm.name), vm=vm.id, cluster=vm.cluster.id)
        return gen, job

    def action_vms_previewsnapshot(self, parent, vid, action, query):
        vm = self.must("vms", vid)
        if action.snapshot is None or not action.snapshot.id:
            raise bad_request("Cannot preview Snapshot. The following field is required: snapshot.id")
        snap = self.must("vm_snapshots", action.snapshot.id, vid)
        gen, job = self._start_preview(vm, snap)
        self.schedule(float(self.tunables.get("snapshot_seconds", 5)), "snapshot_unlock", vm=vid, gen=gen, job=job)
        return self.action_result(job=job)

    def timer_snapshot_unlock(self, vm, gen, job, commit=None):
        obj = self.store.get("vms", vm)
        if obj is None or self.store.x("vms", vm).get("gen") != gen:
            return
        if commit:
            self._commit(obj, self.store.get("vm_snapshots", commit))
        self._set_status(obj, S.DOWN)
        self.end_job(job)

    def _commit(self, vm, snap):
        """Keep the previewed state: drop the 'before the preview' snapshot and every snapshot taken after
        the previewed one (the Engine's RestoreAllSnapshots)."""
        snaps = self.store.list("vm_snapshots", vm.id)
        after = False
        for s in snaps:
            if s.id == snap.id:
                after = True
                continue
            if s.snapshot_type == T.SnapshotType.PREVIEW or (after and s.snapshot_type == T.SnapshotType.REGULAR):
                self.store.delete("vm_snapshots", s.id)
        snap.snapshot_status = T.SnapshotStatus.OK
        self.store.touch("vm_snapshots", snap.id)
        self.drop_all_checkpoints(vm.id)   # backups.py: RestoreAllSnapshots deletes every checkpoint (full next)
        self.emit(46, "VM %s restored from Snapshot %s." % (vm.name, snap.description),
                  vm=vm.id, cluster=vm.cluster.id)

    def action_vms_commitsnapshot(self, parent, vid, action, query):
        vm = self.must("vms", vid)
        snap = self._previewed(vm, "commit")
        if vm.status != S.DOWN:
            raise conflict("Cannot commit Snapshot. VM must be down.")
        self._commit(vm, snap)
        self.write_ovf(vid)
        return self.action_result()

    def action_vms_undosnapshot(self, parent, vid, action, query):
        vm = self.must("vms", vid)
        snap = self._previewed(vm, "undo")
        if vm.status != S.DOWN:
            raise conflict("Cannot undo Snapshot. VM must be down.")
        for s in self.store.list("vm_snapshots", vid):
            if s.snapshot_type == T.SnapshotType.PREVIEW:
                px = self.store.x("vm_snapshots", s.id)
                for did, path in px.get("saved_paths", {}).items():
                    if self.store.get("disks", did) is not None:
                        self.store.x("disks", did)["path"] = path
                        self.store.get("disks", did).image_id = os.path.basename(path)
                        self.store.touch("disks", did)
                if px.get("config"):
                    _apply_vm_update(vm, _restorable(Reader.read(px["config"])))
                    self.store.touch("vms", vid)
                self.store.delete("vm_snapshots", s.id)
        snap.snapshot_status = T.SnapshotStatus.OK
        self.store.touch("vm_snapshots", snap.id)
        self.write_ovf(vid)
        return self.action_result()

    def action_vm_snapshots_restore(self, vid, sid, action, query):
        """``POST /vms/{vm}/snapshots/{sid}/restore``: preview then commit, as the API does."""
        vm = self.must("vms", vid)
        snap = self.must("vm_snapshots", sid, vid)
        gen, job = self._start_preview(vm, snap, "restore")
        self.schedule(float(self.tunables.get("snapshot_seconds", 5)), "snapshot_unlock", vm=vid, gen=gen, job=job,
                      commit=sid)
        return self.action_result(job=job)

    # -- tags ---------------------------------------------------------------------------------------
    def add_vm_tags(self, vid, tag, query):
        self.must("vms", vid)
        t = self.resolve("tags", tag, "Tag")
        key = "%s:%s" % (vid, t.id)
        if self.store.get("vm_tags", key) is not None:
            raise conflict("Cannot attach Tag. The tag is already attached.")
        self.store.put("vm_tags", T.Tag(id=key, name=t.name), parent=vid, extra={"tag": t.id})
        return self._tag_view(vid, key)

    def _tag_view(self, vid, key):
        tid = self.store.extra["vm_tags"][key]["tag"]
        tag = self.store.get("tags", tid)
        out = T.Tag(id=tid, name=tag.name if tag else None, description=tag.description if tag else None,
                    vm=ref("vms", vid))
        out.href = "/ovirt-engine/api/vms/%s/tags/%s" % (vid, tid)
        return out

    def list_vm_tags(self, vid, query):
        self.must("vms", vid)
        return [self._tag_view(vid, t.id) for t in self.store.list("vm_tags", vid)]

    def get_vm_tags(self, vid, tid, query):
        key = "%s:%s" % (vid, tid)
        if self.store.get("vm_tags", key) is None:
            raise ApiError(404)
        return self._tag_view(vid, key)

    def remove_vm_tags(self, vid, tid, query):
        key = "%s:%s" % (vid, tid)
        if self.store.get("vm_tags", key) is None:
            raise ApiError(404)
        self.store.delete("vm_tags", key)

    # -- statistics ---------------------------------------------------------------------------------
    def view_vms_statistics(self, vid, query):
        vm = self.must("vms", vid)
        up = vm.status in RUNNING
        mem = vm.memory or 0
        seed = int(vm.id.replace("-", "")[:6], 16)
        mem_pct, guest = 35.0 + seed % 30, (seed % 40) + 5.0
        cfg = self.tunables.get("load")
        if cfg and up:
            cluster, now = self.cluster_name_of(vm), self.now()
            mem_pct, guest = level(cfg, cluster, "memory", mem_pct, now), level(cfg, cluster, "cpu", guest, now)
        stats = [
            _stat("memory.installed", "Total memory configured", mem, "bytes", "integer"),
            _stat("memory.used", "Memory used (agent)", int(mem * mem_pct / 100) if up else 0,
                  "bytes", "integer"),
            _stat("cpu.current.guest", "CPU used by guest", guest if up else 0.0, "percent"),
            _stat("cpu.current.hypervisor", "CPU overhead", 1.5 if up else 0.0, "percent"),
            _stat("cpu.current.total", "Total CPU used", guest + 1.5 if up else 0.0, "percent"),
            _stat("elapsed.time", "Elapsed VM runtime",
                  int(self.now() - vm.start_time.timestamp()) if up and vm.start_time else 0, "seconds", "integer"),
        ]
        owner = ref("vms", vid)
        return [_own(s, "vms", vid, owner) for s in stats]

    def view_vm_nics_statistics(self, nid, query):
        """A vNIC's rates: a few Mbit/s while its VM runs, moving with the clock (load.py)."""
        vid = self.store.parent_of("vm_nics", nid)
        vm = self.store.get("vms", vid) if vid else None
        if vm is None:
            raise ApiError(404)
        rate = 0
        if vm.status in RUNNING:
            seed = int(vm.id.replace("-", "")[:6], 16)
            pct = level(self.tunables.get("load"), self.cluster_name_of(vm), "network", 0.2 + (seed % 10) / 10.0,
                        self.now())
            rate = int(10 ** 9 / 8 * pct / 100.0)   # of a 1 Gbit/s virtio link
        stats = [_stat("data.current.rx", "Receive data rate", rate, "bytes_per_second", "integer"),
                 _stat("data.current.tx", "Transmit data rate", rate, "bytes_per_second", "integer"),
                 _stat("data.total.rx", "Total received data", 0, "bytes", "integer"),
                 _stat("data.total.tx", "Total transmitted data", 0, "bytes", "integer"),
                 _stat("errors.total.rx", "Total received errors", 0, "none", "integer"),
                 _stat("errors.total.tx", "Total transmitted errors", 0, "none", "integer")]
        for stat in stats:
            stat.href = "/ovirt-engine/api/vms/%s/nics/%s/statistics/%s" % (vid, nid, stat.id)
        return stats

    # -- VM pools ---------------------------------------------------------------------------------
    def add_vmpools(self, parent, pool, query):
        if not pool.name:
            raise bad_request("Cannot create VM-Pool. The following field is required: name")
        if not NAME_RE.match(pool.name):
            raise bad_request("Cannot create VM-Pool. The given name contains special characters.")
        if self.by_name("vmpools", pool.name) is not None:
            raise conflict("Cannot create VM-Pool. The VM-Pool name is already in use, please choose a unique name "
                           "and try again.")
        cluster = self.resolve("clusters", pool.cluster, "VM-Pool")
        template = self.resolve("templates", pool.template, "VM-Pool")
        if template.id == self.BLANK_ID:
            raise conflict("Cannot create VM-Pool. VM-Pool cannot be based on the Blank Template.")
        size = pool.size if pool.size is not None else 1
        if size < 1:
            raise bad_request("Cannot create VM-Pool. The number of VMs must be at least 1.")
        if pool.prestarted_vms and pool.prestarted_vms > size:
            raise bad_request("Cannot create VM-Pool. Prestarted VMs cannot exceed the number of VMs in the pool.")
        stored = T.VmPool(id=new_id(), name=pool.name, description=pool.description or "", comment=pool.comment or "",
                          cluster=ref("clusters", cluster.id), template=ref("templates", template.id), size=0,
                          prestarted_vms=pool.prestarted_vms or 0, max_user_vms=pool.max_user_vms or 1,
                          type=pool.type or T.VmPoolType.AUTOMATIC, stateful=bool(pool.stateful),
                          auto_storage_select=bool(pool.auto_storage_select), soundcard_enabled=False,
                          use_latest_template_version=bool(pool.use_latest_template_version))
        self.store.put("vmpools", stored)
        self._grow_pool(stored, size)
        return render("vmpools", stored)

    def _grow_pool(self, pool, size):
        taken = {v.name for v in self.store.list("vms")}
        n = 0
        while (pool.size or 0) < size:
            n += 1
            name = "%s-%d" % (pool.name, n)
            if name in taken:
                continue
            vm = self.add_vms(None, T.Vm(name=name, cluster=T.Cluster(id=pool.cluster.id),
                                         template=T.Template(id=pool.template.id),
                                         stateless=not pool.stateful), {})
            stored = self.store.get("vms", vm.id)
            stored.vm_pool = ref("vmpools", pool.id)
            self.store.touch("vms", vm.id)
            pool.size = (pool.size or 0) + 1
        self.store.touch("vmpools", pool.id)
        if pool.prestarted_vms:
            self.schedule(6, "pool_prestart", pool=pool.id)

    def timer_pool_prestart(self, pool):
        obj = self.store.get("vmpools", pool)
        if obj is None:
            return
        members = self._pool_vms(pool)
        running = sum(1 for v in members if v.status in RUNNING)
        for vm in members:
            if running >= (obj.prestarted_vms or 0):
                break
            if vm.status == S.DOWN:
                try:
                    self.action_vms_start(None, vm.id, T.Action(), {})
                    running += 1
                except ApiError:
                    break

    def _pool_vms(self, pid):
        return [v for v in self.store.list("vms") if v.vm_pool is not None and v.vm_pool.id == pid]

    def update_vmpools(self, parent, pid, pool, query):
        stored = self.must("vmpools", pid)
        if pool.name and pool.name != stored.name and self.by_name("vmpools", pool.name) is not None:
            raise conflict("Cannot edit VM-Pool. The VM-Pool name is already in use.")
        if pool.cluster is not None and (pool.cluster.id or pool.cluster.name) and \
                self.resolve("clusters", pool.cluster, "VM-Pool").id != stored.cluster.id:
            raise conflict("Cannot edit VM-Pool. The cluster of a VM-Pool cannot be changed.")
        if pool.size is not None and pool.size < (stored.size or 0):
            raise conflict("Cannot edit VM-Pool. Decreasing the number of VMs in a VM-Pool is not supported.")
        grow = pool.size
        merge(stored, pool, skip=("cluster", "template", "size", "vm", "permissions", "type"))
        if grow is not None and grow > (stored.size or 0):
            self._grow_pool(stored, grow)
        elif pool.prestarted_vms is not None:
            self.schedule(1, "pool_prestart", pool=pid)
        self.store.touch("vmpools", pid)
        return render("vmpools", stored)

    def remove_vmpools(self, parent, pid, query):
        self.must("vmpools", pid)
        members = self._pool_vms(pid)
        up = [v.name for v in members if v.status not in (S.DOWN,)]
        if up:
            raise conflict("Cannot remove VM-Pool. The following VMs in the pool are not down: %s." % ", ".join(up))
        for vm in members:
            vm.vm_pool = None
            self.remove_vms(None, vm.id, {})
        self.store.delete("vmpools", pid)

    # -- template versions ------------------------------------------------------------------------------
    def update_vms_to_latest(self, tpl):
        """A new template version: VMs that are down and use the latest version move to it; running ones
        when they go down (AddVmTemplateCommand.updateVmVersion → UpdateVmVersionCommand)."""
        base = self.template_base_id(tpl)
        for vm in self.store.list("vms"):
            if not vm.use_latest_template_version or vm.template is None or vm.template.id == tpl.id:
                continue
            cur = self.store.get("templates", vm.template.id)
            if cur is not None and self.template_base_id(cur) == base and vm.status == S.DOWN:
                self.rebase_vm(vm, tpl)

    def rebase_vm(self, vm, tpl):
        """UpdateVmVersionCommand: the VM is made again from the template version (its configuration, disks
        and NICs), keeping its id, name, cluster and pool."""
        for att in self.store.list("vm_disk_attachments", vm.id):
            self.store.delete("vm_disk_attachments", att.id)
            self.delete_disk(att.disk.id)
        for nic in self.store.list("vm_nics", vm.id):
            self.store.delete("vm_nics", nic.id)
        for attr in _COPIED_FROM_TEMPLATE:
            val = getattr(tpl, attr, None)
            if val is not None:
                setattr(vm, attr, copy.deepcopy(val))
        vm.template = ref("templates", tpl.id)
        for att in self.store.list("template_disk_attachments", tpl.id):
            src = self.store.get("disks", att.disk.id)
            if src is None or not src.storage_domains:
                continue
            disk = self.create_disk(src.alias, src.provisioned_size, src.storage_domains[0].id, T.DiskFormat.COW,
                                    backing=self.disk_path(src.id), locked_for=0)
            self.store.put("vm_disk_attachments", T.DiskAttachment(
                id=disk.id, disk=ref("disks", disk.id), interface=att.interface, bootable=att.bootable,
                active=True, pass_discard=False, read_only=False, uses_scsi_reservation=False,
                vm=ref("vms", vm.id)), parent=vm.id)
        for nic in self.store.list("template_nics", tpl.id):
            self._store_nic(vm.id, T.Nic(name=nic.name, interface=nic.interface, vnic_profile=nic.vnic_profile,
                                         plugged=True, linked=True))
        self.store.touch("vms", vm.id)
        self.write_ovf(vm.id)

    # -- instance types -------------------------------------------------------------------------------
    def add_instancetypes(self, parent, it, query):
        if not it.name:
            raise bad_request("Cannot add Instance Type. The following field is required: name")
        if self.by_name("instancetypes", it.name) is not None:
            raise conflict("Cannot add Instance Type. The Instance Type name is already in use, please choose a "
                           "unique name and try again.")
        memory = it.memory or GIB
        stored = T.InstanceType(
            id=new_id(), name=it.name, description="", comment="", memory=memory, status=T.TemplateStatus.OK,
            memory_policy=T.MemoryPolicy(guaranteed=memory, max=4 * memory, ballooning=True),
            cpu=T.Cpu(topology=T.CpuTopology(sockets=1, cores=1, threads=1)),
            high_availability=T.HighAvailability(enabled=False, priority=0), creation_time=self.now_dt(),
            console=T.Console(enabled=False), migration_downtime=-1, io=T.Io(threads=0),
            usb=T.Usb(enabled=False), soundcard_enabled=False)
        merge(stored, it, skip=("status", "creation_time", "nics", "graphics_consoles", "watchdogs"))
        self._validate_vm(stored)
        self.store.put("instancetypes", stored, extra={"graphics": ["spice"]})
        return render("instancetypes", stored)

    def update_instancetypes(self, parent, iid, it, query):
        stored = self.must("instancetypes", iid)
        if it.name and it.name != stored.name and self.by_name("instancetypes", it.name) is not None:
            raise conflict("Cannot edit Instance Type. The Instance Type name is already in use.")
        candidate = copy.deepcopy(stored)
        merge(candidate, it, skip=("status", "creation_time", "nics", "graphics_consoles", "watchdogs"))
        self._validate_vm(candidate)
        merge(stored, it, skip=("status", "creation_time", "nics", "graphics_consoles", "watchdogs"))
        self.store.touch("instancetypes", iid)
        return render("instancetypes", stored)

    def remove_instancetypes(self, parent, iid, query):
        it = self.must("instancetypes", iid)
        users = sorted(v.name for v in self.store.list("vms") if v.instance_type is not None and
                       v.instance_type.id == iid)
        if users:
            raise conflict("Cannot remove Instance Type. Instance Type %s is used by VMs: %s." % (
                it.name, ", ".join(users)))
        self.store.delete("instancetypes", iid)

    # -- CD-ROM ---------------------------------------------------------------------------------
    CDROM_ID = "00000000-0000-0000-0000-000000000000"

    def _cdrom(self, vid, current):
        x = self.store.extra.get("vms", {}).get(vid, {})
        vm = self.store.get("vms", vid)
        key = "cdrom_current" if current and vm.status in RUNNING else "cdrom"
        fid = x.get(key) if key in x else x.get("cdrom")
        cd = T.Cdrom(id=self.CDROM_ID, vm=ref("vms", vid), file=T.File(id=fid) if fid else None)
        cd.href = "/ovirt-engine/api/vms/%s/cdroms/%s" % (vid, cd.id)
        return cd

    def view_vms_cdroms(self, vid, query):
        self.must("vms", vid)
        return [self._cdrom(vid, query.get("current", "false").lower() == "true")]

    def viewget_vms_cdroms(self, vid, cid, query):
        self.must("vms", vid)
        if cid != self.CDROM_ID:
            raise ApiError(404)
        return self._cdrom(vid, query.get("current", "false").lower() == "true")

    def viewupdate_vms_cdroms(self, vid, cid, cdrom, query):
        vm = self.must("vms", vid)
        if cid != self.CDROM_ID:
            raise ApiError(404)
        fid = cdrom.file.id if cdrom.file is not None and cdrom.file.id else None
        x = self.store.x("vms", vid)
        if query.get("current", "false").lower() == "true":
            if vm.status not in RUNNING:
                raise conflict("Cannot change CD. VM is not running.")  # ChangeDisk needs a running VM
            x["cdrom_current"] = fid
        else:
            x["cdrom"] = fid
            if vm.status not in RUNNING:
                x.pop("cdrom_current", None)
        self.store.touch("vms", vid)
        return self._cdrom(vid, query.get("current", "false").lower() == "true")

    # -- graphics consoles ---------------------------------------------------------------------------
    @staticmethod
    def _console_id(protocol):
        return protocol.encode().hex()  # the Engine's console id: the protocol name in hex

    def _consoles(self, vid, current=False):
        vm = self.store.get("vms", vid)
        out = []
        for i, proto in enumerate(self.store.extra.get("vms", {}).get(vid, {}).get("graphics", [])):
            c = T.GraphicsConsole(id=self._console_id(proto), protocol=T.GraphicsType(proto), vm=ref("vms", vid))
            if current and vm.status in RUNNING and vm.host is not None:
                host = self.store.get("hosts", vm.host.id)
                c.address = host.address if host else None
                c.port = 5900 + 2 * i
                c.tls_port = 5901 + 2 * i if proto == "spice" else None
            c.href = "/ovirt-engine/api/vms/%s/graphicsconsoles/%s" % (vid, c.id)
            out.append(c)
        return out

    def view_vms_graphicsconsoles(self, vid, query):
        self.must("vms", vid)
        return self._consoles(vid, query.get("current", "false").lower() == "true")

    def viewget_vms_graphicsconsoles(self, vid, cid, query):
        self.must("vms", vid)
        for c in self._consoles(vid, query.get("current", "false").lower() == "true"):
            if c.id == cid:
                return c
        raise ApiError(404)

    def viewadd_vms_graphicsconsoles(self, vid, console, query):
        vm = self.must("vms", vid)
        if console.protocol is None:
            raise bad_request("Cannot add Graphics Device. The following field is required: protocol")
        if vm.status not in (S.DOWN,):
            raise conflict("Cannot add Graphics Device. VM is not down.")
        x = self.store.x("vms", vid)
        graphics = list(x.get("graphics", []))
        if console.protocol.value in graphics:
            raise conflict("Cannot add Graphics Device. Only one graphics device of each type is allowed.")
        graphics.append(console.protocol.value)
        x["graphics"] = graphics
        self.store.touch("vms", vid)
        return [c for c in self._consoles(vid) if c.protocol == console.protocol][0]

    def viewremove_vms_graphicsconsoles(self, vid, cid, query):
        vm = self.must("vms", vid)
        x = self.store.x("vms", vid)
        graphics = [g for g in x.get("graphics", []) if self._console_id(g) != cid]
        if len(graphics) == len(x.get("graphics", [])):
            raise ApiError(404)
        if vm.status != S.DOWN:
            raise conflict("Cannot remove Graphics Device. VM is not down.")
        x["graphics"] = graphics
        self.store.touch("vms", vid)

    def viewaction_vms_graphicsconsoles_ticket(self, vid, cid, action, query):
        vm = self.must("vms", vid)
        self.viewget_vms_graphicsconsoles(vid, cid, {})
        if vm.status not in RUNNING:
            raise conflict("Cannot set console ticket. VM is not running.")
        import secrets
        expiry = action.ticket.expiry if action.ticket is not None and action.ticket.expiry else 120
        value = action.ticket.value if action.ticket is not None and action.ticket.value else \
            secrets.token_urlsafe(9)
        return self.action_result(ticket=T.Ticket(value=value, expiry=expiry))

    # -- OVF (all_content) -------------------------------------------------------------------------
    def vm_ovf(self, vm, atts_coll="vm_disk_attachments", nics_coll="vm_nics"):
        """A VM's configuration as the Engine reports it under ``initialization.configuration`` (OVF); with the
        template collections, a template's."""
        from xml.sax.saxutils import escape
        disks = []
        for att in self.store.list(atts_coll, vm.id):
            d = self.store.get("disks", att.disk.id)
            if d is None:
                continue
            # OvfOvirtWriter.writeDisk: sizes in GiB (rounded down, as the Engine does), plus the exact bytes as
            # ovf:provisioned-size / ovf:actual-size-bytes that the simulator reads back (OVF import, backups.py)
            disks.append('<Disk ovf:diskId="%s" ovf:size="%d" ovf:actual_size="%d" ovf:provisioned-size="%d" '
                         'ovf:actual-size-bytes="%d" ovf:fileRef="%s/%s" ovf:format="%s" ovf:volume-format="%s" '
                         'ovf:disk-interface="%s" ovf:boot="%s" ovf:incremental-backup="%s" ovf:disk-alias="%s" '
                         'ovf:disk-description="%s"/>' % (
                             d.image_id, (d.provisioned_size or 0) // GIB, (d.actual_size or 0) // GIB,
                             d.provisioned_size or 0, d.actual_size or 0, d.id, d.image_id,
                             "http://www.gnome.org/~markmc/qcow-image-format.html" if d.format == T.DiskFormat.COW
                             else "http://www.vmware.com/specifications/vmdk.html#sparse",
                             "COW" if d.format == T.DiskFormat.COW else "RAW", _OVF_INTERFACE.get(
                                 att.interface.value if att.interface else "virtio", "VirtIO"),
                             str(bool(att.bootable)).lower(), str(d.backup == T.DiskBackup.INCREMENTAL).lower(),
                             escape(d.alias or ""), escape(d.description or "")))
        nic_items = []
        for n in self.store.list(nics_coll, vm.id):
            prof = self.store.get("vnicprofiles", n.vnic_profile.id) if n.vnic_profile is not None else None
            net = self.store.get("networks", prof.network.id) if prof is not None and prof.network else None
            nic_items.append(
                '<Item><rasd:Caption>Ethernet adapter on %s</rasd:Caption><rasd:InstanceId>%s</rasd:InstanceId>'
                '<rasd:ResourceType>10</rasd:ResourceType><rasd:OtherResourceType>%s</rasd:OtherResourceType>'
                '<rasd:ResourceSubType>%s</rasd:ResourceSubType><rasd:Connection>%s</rasd:Connection>'
                '<rasd:Linked>%s</rasd:Linked><rasd:Name>%s</rasd:Name><rasd:ElementName>%s</rasd:ElementName>'
                '<rasd:MACAddress>%s</rasd:MACAddress></Item>' % (
                    escape(net.name if net else "[No Network]"), n.id, escape(prof.name if prof else ""),
                    _OVF_NIC_TYPE.get(n.interface.value if n.interface else "virtio", 3),
                    escape(net.name if net else ""), str(n.linked is not False).lower(), escape(n.name),
                    escape(n.name), n.mac.address if n.mac else ""))
        nics = "".join(nic_items)
        topo = vm.cpu.topology if vm.cpu is not None and vm.cpu.topology is not None else T.CpuTopology()
        return ('<?xml version="1.0" encoding="UTF-8"?><ovf:Envelope xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1/" '
                'xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" '
                'xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" '
                'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ovf:version="4.5.0.0">'
                '<References/><Section xsi:type="ovf:DiskSection_Type"><Info>List of Virtual Disks</Info>%s</Section>'
                '<Content ovf:id="out" xsi:type="ovf:VirtualSystem_Type"><Name>%s</Name><TemplateId>%s</TemplateId>'
                '<Description>%s</Description><CreationDate>%s</CreationDate>'
                '<Section ovf:id="%s" ovf:required="false" xsi:type="ovf:OperatingSystemSection_Type">'
                '<Description>%s</Description></Section>'
                '<Section xsi:type="ovf:VirtualHardwareSection_Type"><Info>%d CPU, %d Memory</Info>'
                '<Item><rasd:ResourceType>3</rasd:ResourceType><rasd:num_of_sockets>%d</rasd:num_of_sockets>'
                '<rasd:cpu_per_socket>%d</rasd:cpu_per_socket></Item>'
                '<Item><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>%d</rasd:VirtualQuantity></Item>'
                '%s</Section></Content></ovf:Envelope>') % (
                    "".join(disks), escape(vm.name), getattr(vm, "template", None).id if getattr(vm, "template", None) else (
                        vm.id if atts_coll == "template_disk_attachments" else self.BLANK_ID),
                    escape(vm.description or ""), vm.creation_time.strftime("%Y/%m/%d %H:%M:%S") if vm.creation_time
                    else "", vm.id, escape(vm.os.type if vm.os and vm.os.type else "other"),
                    (topo.sockets or 1) * (topo.cores or 1) * (topo.threads or 1), (vm.memory or 0) // MIB,
                    topo.sockets or 1, topo.cores or 1, (vm.memory or 0) // MIB, nics)


# The Engine's enums as OvfWriter writes them: DiskInterface.name(), VmInterfaceType's value.
_OVF_INTERFACE = {"ide": "IDE", "virtio": "VirtIO", "virtio_scsi": "VirtIO_SCSI", "sata": "SATA",
                  "spapr_vscsi": "SPAPR_VSCSI"}
_OVF_NIC_TYPE = {"rtl8139_virtio": 0, "rtl8139": 1, "e1000": 2, "virtio": 3, "spapr_vlan": 4, "pci_passthrough": 5,
                 "e1000e": 6}


def _stat(name, desc, value, unit, typ="decimal"):
    return T.Statistic(id=new_stat_id(name), name=name, description=desc, kind=T.StatisticKind.GAUGE,
                       type=T.ValueType(typ), unit=T.StatisticUnit(unit), values=[T.Value(datum=float(value))])


_STAT_IDS = {}


def new_stat_id(name):
    if name not in _STAT_IDS:
        import uuid
        _STAT_IDS[name] = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
    return _STAT_IDS[name]


def _own(stat, coll, oid, owner=None):
    """``owner``: the reference to share between one object's statistics (building a Vm reference is costly:
    60,000 of them for 10,000 VMs' statistics)."""
    stat.href = "/ovirt-engine/api/%s/%s/statistics/%s" % (coll, oid, stat.id)
    if coll == "vms":
        stat.vm = owner or ref("vms", oid)
    elif coll == "hosts":
        stat.host = owner or ref("hosts", oid)
    elif coll == "disks":
        stat.disk = owner or ref("disks", oid)
    return stat


def _restorable(vm):
    """The part of a VM's configuration a snapshot brings back (not its identity or run state)."""
    for attr in ("id", "href", "name", "status", "host", "start_time", "stop_time", "creation_time",
                 "next_run_configuration_exists", "run_once", "cluster", "template", "original_template"):
        setattr(vm, attr, None)
    return vm


def _actual(path):
    try:
        return os.stat(path).st_blocks * 512
    except OSError:
        return 0


def _apply_vm_update(stored, vm):
    merge(stored, vm, skip=_READ_ONLY)
    if vm.lease is not None and (vm.lease.storage_domain is None or not (vm.lease.storage_domain.id or
                                                                         vm.lease.storage_domain.name)):
        stored.lease = None  # <lease/> removes the VM's lease
    if vm.placement_policy is not None and vm.placement_policy.hosts is not None:
        stored.placement_policy.hosts = vm.placement_policy.hosts or None


def _enforcing(group):
    if group.enforcing is not None:
        return group.enforcing
    rule = group.vms_rule
    return bool(rule and rule.enforcing)


def _positive(group):
    rule = group.vms_rule
    if rule is not None and rule.enabled is not False and rule.positive is not None:
        return rule.positive
    return group.positive
