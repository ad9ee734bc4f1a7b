# SPDX-License-Identifier: GPL-3.0-or-later
"""Infrastructure: data centers (status follows the master storage domain), MAC pools, host add / install /
remove / network setup, cluster networks, adding and removing storage domains (a file domain is a directory
under the state dir), switching the master domain, the cluster upgrade flag and the Engine's periodic host
update check. Texts follow the Engine's AppErrors; codes its AuditLogType."""

import os
import shutil

from ovirtsdk4 import types as T

from .core import new_id
from .model import ApiError, bad_request, conflict, merge, ref, render
from .seeds import host_record

H = T.HostStatus
GIB = 1 << 30
DEFAULT_MAC_POOL = "58ca604b-017d-0374-0220-00000000014e"
UPDATE_CHECK_FIRST = 15 * 60          # HostUpdatesCheckerService: 15 minutes after start ...
UPDATE_CHECK_EVERY = 24 * 3600        # ... then every HostPackagesUpdateTimeInHours (24)


def _mac_int(mac):
    return int(mac.replace(":", "").replace("-", ""), 16)


class InfraMixin:
    # -- data centers -------------------------------------------------------------------------------
    def add_datacenters(self, parent, dc, query):
        if not dc.name:
            raise bad_request("Cannot create Data Center. The following field is required: name")
        if self.by_name("datacenters", dc.name):
            raise conflict("Cannot create Data Center. The Data Center name is already in use.")
        if dc.local is None:
            raise bad_request("Cannot create Data Center. The following field is required: local")
        version = dc.version or T.Version(major=4, minor=7)
        pool = self._mac_pool_ref(dc.mac_pool, "Data Center")
        stored = T.DataCenter(id=new_id(), name=dc.name, description=dc.description or "", comment=dc.comment or "",
                              local=bool(dc.local), status=T.DataCenterStatus.UNINITIALIZED,
                              storage_format=dc.storage_format or T.StorageFormat.V5,
                              version=T.Version(major=version.major, minor=version.minor),
                              supported_versions=[T.Version(major=version.major, minor=version.minor)],
                              quota_mode=dc.quota_mode or T.QuotaModeType.DISABLED, mac_pool=pool)
        self.store.put("datacenters", stored)
        # AddEmptyStoragePoolCommand adds the management network (with its vNIC profile) to every new DC.
        net = T.Network(id=new_id(), name="ovirtmgmt", description="Management Network",
                        data_center=ref("datacenters", stored.id), mtu=0, stp=False, required=True,
                        usages=[T.NetworkUsage.VM, T.NetworkUsage.MANAGEMENT])
        self.store.put("networks", net)
        self.store.put("vnicprofiles", T.VnicProfile(id=new_id(), name="ovirtmgmt", description="",
                                                     network=ref("networks", net.id), port_mirroring=False,
                                                     migratable=True, network_filter=self.default_network_filter(),
                                                     pass_through=T.VnicPassThrough(
                                                         mode=T.VnicPassThroughMode.DISABLED)))
        self.emit(950, "Data Center %s was added by admin@internal-authz." % stored.name, data_center=stored.id)
        return render("datacenters", stored)

    def update_datacenters(self, parent, dcid, dc, query):
        stored = self.must("datacenters", dcid)
        if dc.name and dc.name != stored.name and self.by_name("datacenters", dc.name):
            raise conflict("Cannot update Data Center. The Data Center name is already in use.")
        if dc.mac_pool is not None:
            dc.mac_pool = self._mac_pool_ref(dc.mac_pool, "Data Center")
        if dc.local is not None and bool(dc.local) != bool(stored.local) and self._dc_domains(dcid):
            raise conflict("Cannot update Data Center. Cannot change Data Center type when Storage Domains are "
                           "attached to it.")
        merge(stored, dc, skip=("status", "supported_versions", "storage_domains", "clusters", "networks"))
        self.store.touch("datacenters", dcid)
        self.emit(952, "Data Center %s was updated by admin@internal-authz." % stored.name, data_center=dcid)
        return render("datacenters", stored)

    def remove_datacenters(self, parent, dcid, query):
        dc = self.must("datacenters", dcid)
        force = query.get("force", "false").lower() == "true"
        attached = self._dc_domains(dcid)
        if not force:
            if len(attached) > 1:
                raise conflict("Cannot remove Data Center when more than one Storage Domain is attached.")
            for sd in attached:
                if self.sd_status(sd.id) == T.StorageDomainStatus.ACTIVE:
                    raise conflict("Cannot remove Data Center. There are active Storage Domains in the Data "
                                   "Center: %s." % sd.name)
        for sd in attached:
            x = self.store.x("storagedomains", sd.id)
            x.pop("data_center", None)
            x["status"] = "unattached"
            sd.master = False
            self.store.touch("storagedomains", sd.id)
        for c in self.store.list("clusters"):
            if c.data_center is not None and c.data_center.id == dcid:
                c.data_center = None
                self.store.touch("clusters", c.id)
        for n in [n for n in self.store.list("networks") if n.data_center and n.data_center.id == dcid]:
            for p in [p for p in self.store.list("vnicprofiles") if p.network.id == n.id]:
                self.store.delete("vnicprofiles", p.id)
            self.store.delete("networks", n.id)
        self.store.delete("datacenters", dcid)
        self.emit(954, "Data Center %s was removed by admin@internal-authz." % dc.name)

    def _dc_domains(self, dcid):
        return [sd for sd in self.store.list("storagedomains")
                if self.store.x("storagedomains", sd.id).get("data_center") == dcid]

    def dc_master(self, dcid):
        for sd in self._dc_domains(dcid):
            if sd.master:
                return sd
        return None

    def dc_refresh_status(self, dcid):
        """A DC is up while its master domain is active, maintenance when the master is in maintenance,
        uninitialized without one."""
        dc = self.store.get("datacenters", dcid)
        if dc is None:
            return
        master = self.dc_master(dcid)
        if master is None:
            status = T.DataCenterStatus.UNINITIALIZED
        else:
            st = self.store.x("storagedomains", master.id).get("status", "active")
            status = {"active": T.DataCenterStatus.UP, "maintenance": T.DataCenterStatus.MAINTENANCE,
                      "locked": dc.status if dc.status == T.DataCenterStatus.UP else T.DataCenterStatus.UNINITIALIZED}.get(
                st, T.DataCenterStatus.NOT_OPERATIONAL)
        if dc.status != status:
            dc.status = status
            self.store.touch("datacenters", dcid)

    def action_datacenters_setmaster(self, parent, dcid, action, query):
        dc = self.must("datacenters", dcid)
        if action.storage_domain is None:
            raise bad_request("Cannot switch master storage domain. The following field is required: storage_domain")
        sd = self.resolve("storagedomains", action.storage_domain, "Storage")
        x = self.store.x("storagedomains", sd.id)
        if x.get("data_center") != dcid:
            raise conflict("Cannot switch master storage domain. Storage Domain %s is not attached to Data Center "
                           "%s." % (sd.name, dc.name))
        if sd.type != T.StorageDomainType.DATA:
            raise conflict("Cannot switch master storage domain. The Storage Domain type is not Data.")
        if x.get("status", "active") != "active":
            raise conflict("Cannot switch master storage domain. The Storage Domain's status is not Active.")
        if dc.status != T.DataCenterStatus.UP:
            raise conflict("Cannot switch master storage domain. The Data Center's status is not Up.")
        if sd.master:
            raise conflict("Cannot switch master storage domain. Storage Domain %s is already the master." % sd.name)
        job = self.start_job("Switching master storage domain of Data Center %s to %s" % (dc.name, sd.name),
                             correlation_id=action.correlation_id)
        old = self.dc_master(dcid)
        self.schedule(float(self.tunables.get("switch_master_seconds", 10)), "master_switched", dc=dcid, sd=sd.id,
                      old=old.id if old else None, job=job)
        return self.action_result(job=job)

    def timer_master_switched(self, dc, sd, old, job):
        new = self.store.get("storagedomains", sd)
        prev = self.store.get("storagedomains", old) if old else None
        if new is None or self.store.x("storagedomains", sd).get("data_center") != dc:
            self.end_job(job, ok=False)
            return
        if prev is not None:
            prev.master = False
            self.store.touch("storagedomains", old)
        new.master = True
        self.store.touch("storagedomains", sd)
        self.emit(984, "Reconstruct Master Domain for Data Center %s completed." % self.store.get(
            "datacenters", dc).name, data_center=dc, storage_domain=sd)
        self.end_job(job)

    # -- system options (SystemOptionsService: no list, one option by name) --------------------------------------
    def list_systemoptions(self, parent, query):
        raise ApiError(405, "Method not allowed")

    def get_systemoptions(self, parent, name, query):
        opt = self.must("systemoptions", name)
        out = render("systemoptions", opt)
        version = query.get("version")
        if version:
            # DBConfigUtils: the value for that version, else the version-independent ("general") one
            out.values = [v for v in opt.values if v.version == version] or \
                [v for v in opt.values if v.version == "general"]
        return out

    # -- MAC pools -----------------------------------------------------------------------------------
    def _mac_pool_ref(self, given, what):
        if given is None:
            return ref("macpools", DEFAULT_MAC_POOL)
        pool = self.resolve("macpools", given, what)
        return ref("macpools", pool.id)

    def _check_ranges(self, ranges, what):
        if not ranges:
            raise bad_request("Cannot %s MAC Pool. MAC Pool must contain at least one MAC Address range." % what)
        for r in ranges:
            try:
                lo, hi = _mac_int(r.from_ or ""), _mac_int(r.to or "")
            except ValueError:
                raise bad_request("Cannot %s MAC Pool. Invalid MAC address range %s-%s." % (what, r.from_, r.to))
            if lo > hi:
                raise bad_request("Cannot %s MAC Pool. The MAC address range %s-%s is invalid: its start is above its "
                                  "end." % (what, r.from_, r.to))

    def add_macpools(self, parent, pool, query):
        if not pool.name:
            raise bad_request("Cannot add MAC Pool. The following field is required: name")
        if self.by_name("macpools", pool.name):
            raise conflict("Cannot add MAC Pool. Name of MAC pool is already in use.")
        self._check_ranges(pool.ranges, "add")
        stored = T.MacPool(id=new_id(), name=pool.name, description=pool.description or "",
                           allow_duplicates=bool(pool.allow_duplicates), default_pool=False,
                           ranges=[T.Range(from_=r.from_.lower(), to=r.to.lower()) for r in pool.ranges])
        self.store.put("macpools", stored)
        self.emit(10700, "MAC Pool '%s' (id %s) was successfully created." % (stored.name, stored.id))
        return render("macpools", stored)

    def update_macpools(self, parent, pid, pool, query):
        stored = self.must("macpools", pid)
        if pool.name and pool.name != stored.name and self.by_name("macpools", pool.name):
            raise conflict("Cannot update MAC Pool. Name of MAC pool is already in use.")
        if pool.ranges is not None:
            self._check_ranges(pool.ranges, "update")
            pool.ranges = [T.Range(from_=r.from_.lower(), to=r.to.lower()) for r in pool.ranges]
        merge(stored, pool, skip=("default_pool",))
        self.store.touch("macpools", pid)
        self.emit(10702, "MAC Pool '%s' (id %s) was successfully updated." % (stored.name, pid))
        return render("macpools", stored)

    def remove_macpools(self, parent, pid, query):
        pool = self.must("macpools", pid)
        if pool.default_pool:
            raise conflict("Cannot remove MAC Pool. Removing of default MAC pool is not supported.")
        users = [c.name for c in self.store.list("clusters") if c.mac_pool is not None and c.mac_pool.id == pid]
        if users:
            raise conflict("Cannot remove MAC Pool. MAC pool is still used by the following clusters: %s." %
                           ", ".join(sorted(users)))
        self.store.delete("macpools", pid)
        self.emit(10704, "MAC Pool '%s' (id %s) was successfully removed." % (pool.name, pid))

    def cluster_mac_pool(self, cluster_id):
        """The MAC pool a cluster's vNICs take addresses from (for the vNIC code)."""
        c = self.store.get("clusters", cluster_id)
        pid = c.mac_pool.id if c is not None and c.mac_pool is not None else DEFAULT_MAC_POOL
        return self.store.get("macpools", pid)

    def pool_nics(self, pool_id):
        """The VM NICs whose addresses belong to a MAC pool: those of VMs in the clusters that use it."""
        clusters = set(c.id for c in self.store.list("clusters") if (
            c.mac_pool.id if c.mac_pool is not None else DEFAULT_MAC_POOL) == pool_id)
        vms = set(v.id for v in self.store.list("vms") if v.cluster is not None and v.cluster.id in clusters)
        return [n for n in self.store.list("vm_nics") if n.vm is not None and n.vm.id in vms]

    def allocate_mac(self, cluster_id):
        """MacPoolUsingRanges.allocateNewMac: the next address of the cluster's pool that no vNIC of the pool uses,
        searching on from where the last allocation stopped."""
        pool = self.cluster_mac_pool(cluster_id)
        if pool is None:
            return self._new_mac()
        used = set(_mac_int(n.mac.address) for n in self.pool_nics(pool.id) if n.mac is not None and n.mac.address)
        ranges = sorted((_mac_int(r.from_), _mac_int(r.to)) for r in pool.ranges or [])
        if not ranges:
            raise conflict("Cannot add Interface. Not enough MAC addresses left in MAC Address Pool.")
        key = "mac_next" if pool.id == DEFAULT_MAC_POOL else "mac_next:%s" % pool.id
        start = ranges[0][0] + int(self.store.meta.get(key, 0))
        size = sum(hi - lo + 1 for lo, hi in ranges)
        if len(used) < size:
            for candidate in self._pool_walk(ranges, start, min(size, len(used) + 1)):
                if candidate not in used:
                    self.store.set_meta(key, candidate + 1 - ranges[0][0])
                    raw = "%012x" % candidate
                    return ":".join(raw[i:i + 2] for i in range(0, 12, 2))
        raise conflict("Cannot add Interface. Not enough MAC addresses left in MAC Address Pool.")

    @staticmethod
    def _pool_walk(ranges, start, count):
        """Up to ``count`` addresses of the ranges from ``start`` on, wrapping around to the first range."""
        order = [(max(lo, start), hi) for lo, hi in ranges if hi >= start] + \
            [(lo, min(hi, start - 1)) for lo, hi in ranges if lo < start]
        for lo, hi in order:
            n = lo
            while n <= hi and count > 0:
                yield n
                n += 1
                count -= 1

    # -- hosts: add, install, remove -------------------------------------------------------------------
    def add_hosts(self, parent, host, query):
        for f in ("name", "address"):
            if not getattr(host, f):
                raise bad_request("Cannot add Host. The following field is required: %s" % f)
        if self.by_name("hosts", host.name):
            raise conflict("Cannot add Host. The Host name is already in use.")
        if any(h.address == host.address for h in self.store.list("hosts")):
            raise conflict("Cannot add Host. The Host address is already in use.")
        if host.cluster is None:
            cluster = self.by_name("clusters", "Default")
            if cluster is None:
                raise bad_request("Cannot add Host. The following field is required: cluster")
        else:
            cluster = self.resolve("clusters", host.cluster, "Host")
        if cluster.data_center is None:
            raise conflict("Cannot add Host. The Cluster is not attached to a Data Center.")
        pm = host.power_management
        if pm is not None and pm.enabled and not pm.agents:
            raise conflict("Cannot add Host. Power Management is enabled for Host but no Agent type selected.")
        hid = new_id()
        index = self.store.count("hosts") + 1
        stored = host_record(
            hid, host.name, host.address, cluster.id, H.INSTALLING, port=host.port or 54321,
            spm_priority=host.spm.priority if host.spm and host.spm.priority is not None else 5,
            ssh_port=host.ssh.port if host.ssh and host.ssh.port else 22, comment=host.comment or "",
            description=host.description or "")
        self.store.put("hosts", stored, extra={"pending_update": False, "boot_time": 0})
        mgmt = next((n for n in self.store.list("networks") if n.data_center and n.data_center.id ==
                     cluster.data_center.id and n.usages and T.NetworkUsage.MANAGEMENT in n.usages), None)
        for i in range(3):   # the simulated machine has three NICs; the first carries the management network
            self.store.put("host_nics", T.HostNic(
                id=new_id(), name="eth%d" % i, mac=T.Mac(address="52:54:01:%02x:%02x:%02x" % (
                    index // 256 % 256, index % 256, i)),
                ip=T.Ip(address="198.51.100.%d" % (index % 250 + 1), netmask="255.255.255.0",
                        version=T.IpVersion.V4) if i == 0 else None,
                mtu=1500, speed=10 * 1000 ** 3, status=T.NicStatus.UP,
                boot_protocol=T.BootProtocol.STATIC if i == 0 else T.BootProtocol.NONE, bridged=i == 0,
                network=ref("networks", mgmt.id) if (i == 0 and mgmt) else None, host=ref("hosts", hid)), parent=hid)
        self.emit(42, "Host %s was added by admin@internal-authz." % stored.name, host=hid, cluster=cluster.id)
        self._start_install(stored, activate=True)
        return self.decorate_host(render("hosts", stored))

    def _start_install(self, host, activate=True):
        gen = self._bump_host(host.id)
        self.set_host_status(host, H.INSTALLING)
        self.emit(509, "Installing Host %s. Stage: Initializing." % host.name, host=host.id, cluster=host.cluster.id)
        job = self.start_job("Installing Host %s" % host.name)
        self.schedule(float(self.tunables.get("host_install_seconds", 60)), "host_installed", host=host.id, gen=gen,
                      activate=activate, job=job)
        return job

    def timer_host_installed(self, host, gen, activate=True, job=None):
        obj = self.store.get("hosts", host)
        if obj is None or self.store.x("hosts", host).get("gen") != gen:
            return
        self.emit(504, "Host %s installed" % obj.name, host=host, cluster=obj.cluster.id)
        if activate:
            self.set_host_status(obj, H.INITIALIZING)
            self.schedule(float(self.tunables.get("host_activate_seconds", 5)), "host_up", host=host, gen=gen,
                          job=job, code=13)
        else:
            self.set_host_status(obj, H.MAINTENANCE)
            self.end_job(job)

    def action_hosts_install(self, parent, hid, action, query):
        host = self.must("hosts", hid)
        if host.status not in (H.MAINTENANCE, H.INSTALL_FAILED, H.NON_OPERATIONAL, H.DOWN, H.NON_RESPONSIVE):
            raise conflict("Cannot install Host. Host is in %s status. Please switch Host to Maintenance mode "
                           "first." % host.status.value.replace("_", " ").title().replace(" ", ""))
        # BackendHostResource.install: unlike adding or approving a host, 'activate' defaults to false here.
        if action.activate is not None:
            activate = bool(action.activate)
        else:
            activate = query.get("activate", "false").lower() == "true"
        job = self._start_install(host, activate=activate)
        return self.action_result(job=job)

    def action_hosts_refresh(self, parent, hid, action, query):
        host = self.must("hosts", hid)
        if host.status not in (H.UP, H.MAINTENANCE, H.NON_OPERATIONAL):
            raise conflict("Cannot refresh host capabilities. Operation can be performed only when Host status is "
                           "Up, Maintenance, NonOperational.")
        self.emit(606, "Successfully refreshed the capabilities of host %s." % host.name, host=hid,
                  cluster=host.cluster.id)
        return self.action_result()

    def remove_hosts(self, parent, hid, query):
        host = self.must("hosts", hid)
        if host.status not in (H.NON_RESPONSIVE, H.MAINTENANCE, H.DOWN, H.UNASSIGNED, H.INSTALL_FAILED,
                               H.PENDING_APPROVAL, H.NON_OPERATIONAL, H.INSTALLING_OS):
            raise conflict("Cannot remove Host. Host is operational. Please switch Host to Maintenance mode first.")
        if any(v.host is not None and v.host.id == hid for v in self.store.list("vms")):
            raise conflict("Cannot remove Host. One or more VMs are still running on this Host.")
        pinned = sorted(v.name for v in self.store.list("vms") if v.placement_policy is not None and any(
            h.id == hid for h in (v.placement_policy.hosts or [])))
        if pinned:
            raise conflict("Cannot remove Host. The following VMs are pinned to the Host: %s." % ", ".join(pinned))
        for coll in ("host_nics", "host_agents", "host_tags"):
            for child in self.store.list(coll, hid):
                self.store.delete(coll, child.id)
        self.cancel_timers("host_up", host=hid)
        self.store.delete("hosts", hid)
        self.emit(44, "Host %s was removed by admin@internal-authz." % host.name)

    def remove_host_agents(self, hid, aid, query):
        host = self.must("hosts", hid)
        self.must("host_agents", aid, hid)
        if host.power_management is not None and host.power_management.enabled and \
                len(self.store.list("host_agents", hid)) == 1:
            raise conflict("Cannot Remove last Fence-Agent when Power Management is enabled for the Host.")
        self.store.delete("host_agents", aid)

    def view_hosts_storage(self, hid, query):
        """GetDeviceList as the simulator can answer it: the simulated SAN holds exactly the LUNs its block storage
        domains were made on (there is no discovery), and every host is zoned to all of them."""
        self.must("hosts", hid)
        out = []
        for sd in self.store.list("storagedomains"):
            st = sd.storage
            if st is None or st.type not in (T.StorageType.ISCSI, T.StorageType.FCP) or st.volume_group is None:
                continue
            for lun in st.volume_group.logical_units or []:
                unit = T.LogicalUnit(id=lun.id, address=lun.address, port=lun.port, target=lun.target,
                                     size=lun.size, lun_mapping=lun.lun_mapping, vendor_id=lun.vendor_id,
                                     product_id=lun.product_id, serial="SLIO-ORG_sim-target_%s" % lun.id[-8:],
                                     paths=1, status=T.LunStatus.USED, storage_domain_id=sd.id,
                                     volume_group_id=st.volume_group.id)
                out.append(T.HostStorage(id=lun.id, type=st.type, logical_units=[unit], host=ref("hosts", hid)))
        return out

    # -- host networks ---------------------------------------------------------------------------------
    def _host_nic(self, hid, given):
        for nic in self.store.list("host_nics", hid):
            if (given.id and nic.id == given.id) or (given.name and nic.name == given.name):
                return nic
        return None

    def action_hosts_setupnetworks(self, parent, hid, action, query):
        host = self.must("hosts", hid)
        if host.status not in (H.UP, H.MAINTENANCE, H.NON_OPERATIONAL):
            raise conflict("Cannot setup Networks. Operation can be performed only when Host status is Maintenance, "
                           "Up, NonOperational.")
        cluster_nets = self._cluster_net_ids(host.cluster.id)
        bonds = []
        for bond in action.modified_bonds or []:
            if not bond.name:
                raise bad_request("Cannot setup Networks. The following field is required: bond name")
            slaves = (bond.bonding.slaves if bond.bonding else None) or []
            if len(slaves) < 2:
                raise conflict("Cannot setup Networks. Bond %s must have at least two slaves." % bond.name)
            found = []
            for s in slaves:
                nic = self._host_nic(hid, s)
                if nic is None:
                    raise conflict("Cannot setup Networks. The following Network Interfaces do not exist on the "
                                   "Host: %s." % (s.name or s.id))
                if nic.bonding is not None:
                    raise conflict("Cannot setup Networks. %s is a bond and cannot be a slave." % nic.name)
                found.append(nic)
            bonds.append((bond, found))
        atts = []
        for att in action.modified_network_attachments or []:
            if att.network is None:
                raise bad_request("Cannot setup Networks. The following field is required: network")
            net = self.resolve("networks", att.network, "Network Attachment")
            if net.id not in cluster_nets:
                raise conflict("Cannot setup Networks. The following Logical Networks are not attached to the Cluster: "
                               "%s." % net.name)
            atts.append((att, net))
        for bond, found in bonds:
            stored = self._host_nic(hid, bond)
            if stored is None:
                stored = T.HostNic(id=new_id(), name=bond.name, host=ref("hosts", hid), mtu=1500,
                                   status=T.NicStatus.UP, boot_protocol=T.BootProtocol.NONE, bridged=False,
                                   mac=found[0].mac)
                self.store.put("host_nics", stored, parent=hid)
            stored.bonding = T.Bonding(options=bond.bonding.options,
                                       slaves=[ref("host_nics", n.id, hid, name=n.name) for n in found])
            stored.speed = sum(n.speed or 0 for n in found)
            for n in found:
                n.base_interface = None
                self.store.touch("host_nics", n.id)
            self.store.touch("host_nics", stored.id)
        for att, net in atts:
            nic = self._host_nic(hid, att.host_nic) if att.host_nic is not None else None
            if nic is None:
                raise conflict("Cannot setup Networks. The Network Interface of the attachment of network %s does "
                               "not exist on the Host." % net.name)
            nic.network = ref("networks", net.id)
            nic.bridged = bool(net.usages and T.NetworkUsage.VM in net.usages)
            for a in att.ip_address_assignments or []:
                if a.ip is not None and (a.ip.version or T.IpVersion.V4) == T.IpVersion.V4:
                    nic.ip = T.Ip(address=a.ip.address, netmask=a.ip.netmask, gateway=a.ip.gateway,
                                  version=T.IpVersion.V4)
                    nic.boot_protocol = a.assignment_method
            self.store.touch("host_nics", nic.id)
        self.store.x("hosts", hid)["net_config_dirty"] = True
        self.store.touch("hosts", hid)
        self.emit(1146, "Network changes were saved on host %s" % host.name, host=hid, cluster=host.cluster.id)
        return self.action_result()

    def action_hosts_commitnetconfig(self, parent, hid, action, query):
        host = self.must("hosts", hid)
        self.store.x("hosts", hid).pop("net_config_dirty", None)
        self.store.touch("hosts", hid)
        self.emit(1104, "Network changes were saved on host %s" % host.name, host=hid, cluster=host.cluster.id)
        return self.action_result()

    # -- cluster networks ----------------------------------------------------------------------------
    def _cluster_net_ids(self, cid):
        """Networks attached to a cluster: {network id: required}. The management network of the cluster's DC is
        attached to every cluster (AddClusterCommand attaches it)."""
        x = self.store.x("clusters", cid)
        if "networks" not in x:
            c = self.store.get("clusters", cid)
            dcid = c.data_center.id if c is not None and c.data_center is not None else None
            return {n.id: True for n in self.store.list("networks") if n.data_center and n.data_center.id == dcid
                    and n.usages and T.NetworkUsage.MANAGEMENT in n.usages}
        return dict(x["networks"])

    def _cluster_net(self, cid, net, required):
        out = render("networks", net)
        out.href = "/ovirt-engine/api/clusters/%s/networks/%s" % (cid, net.id)
        out.cluster = ref("clusters", cid)
        out.required = required
        return out

    def view_clusters_networks(self, cid, query):
        self.must("clusters", cid)
        nets = self._cluster_net_ids(cid)
        return [self._cluster_net(cid, n, nets[n.id]) for n in self.store.list("networks") if n.id in nets]

    def viewadd_clusters_networks(self, cid, net, query):
        cluster = self.must("clusters", cid)
        stored = self.resolve("networks", net, "Network")
        if cluster.data_center is None or stored.data_center is None or stored.data_center.id != cluster.data_center.id:
            raise conflict("Cannot attach Logical Network to Cluster. The Network does not belong to the Data Center "
                           "of the Cluster.")
        nets = self._cluster_net_ids(cid)
        if stored.id in nets:
            raise conflict("Logical Network is already attached to Cluster.")
        nets[stored.id] = True if net.required is None else bool(net.required)
        self.store.x("clusters", cid)["networks"] = nets
        self.store.touch("clusters", cid)
        self.emit(946, "Network %s attached to Cluster %s" % (stored.name, cluster.name), cluster=cid)
        return self._cluster_net(cid, stored, nets[stored.id])

    def viewremove_clusters_networks(self, cid, nid, query):
        cluster = self.must("clusters", cid)
        nets = self._cluster_net_ids(cid)
        net = self.store.get("networks", nid)
        if nid not in nets or net is None:
            raise ApiError(404)
        if net.usages and T.NetworkUsage.MANAGEMENT in net.usages:
            raise conflict("Cannot detach Logical Network from Cluster. The management network cannot be detached "
                           "from the Cluster %s." % cluster.name)
        del nets[nid]
        self.store.x("clusters", cid)["networks"] = nets
        self.store.touch("clusters", cid)

    # -- storage domains: add, update, remove ----------------------------------------------------------
    def add_storagedomains(self, parent, sd, query):
        if not sd.name and not sd.import_:      # an import (import=true, by id) takes the name from the domain
            raise bad_request("Cannot add Storage. The following field is required: name")
        if sd.type is None:
            raise bad_request("Cannot add Storage. The following field is required: type")
        if sd.storage is None or sd.storage.type is None:
            raise bad_request("Cannot add Storage. The following field is required: storage.type")
        if sd.host is None:
            raise bad_request("Cannot add Storage. The following field is required: host")
        host = self.resolve("hosts", sd.host, "Storage")
        if host.status != H.UP:
            raise conflict("Cannot add Storage. Host %s is not Up." % host.name)
        existing = self.existing_domain(sd)    # dr.py: a path that holds a domain (or import=true by id) imports it
        if existing is not None:
            return self.import_storage_domain(sd, host, existing[:2], existing[2])
        if not sd.name:
            raise bad_request("Cannot add Storage. The following field is required: name")
        if self.by_name("storagedomains", sd.name):
            raise conflict("Cannot add Storage. The Storage Domain name is already in use.")
        st = sd.storage
        kind = st.type
        extra = {"status": "unattached", "capacity": 1024 * GIB}
        if kind in (T.StorageType.NFS, T.StorageType.POSIXFS, T.StorageType.GLUSTERFS):
            if kind == T.StorageType.NFS and not st.address:
                raise bad_request("Cannot add Storage. The following field is required: storage.address")
            if not st.path:
                raise bad_request("Cannot add Storage. The following field is required: storage.path")
            conn = (st.address or "", st.path)
            for other in self.store.list("storagedomains"):
                o = other.storage
                if o is not None and (o.address or "", o.path) == conn:
                    raise conflict("Cannot add Storage. The specified path is already used by Storage Domain %s." %
                                   other.name)
            storage = T.HostStorage(type=kind, address=st.address, path=st.path, vfs_type=st.vfs_type,
                                    mount_options=st.mount_options, nfs_version=st.nfs_version)
        elif kind in (T.StorageType.ISCSI, T.StorageType.FCP):
            luns = (st.volume_group.logical_units if st.volume_group else None) or st.logical_units or []
            if not luns:
                raise bad_request("Cannot add Storage. The following field is required: storage.volume_group."
                                  "logical_units")
            used = {lun.id for other in self.store.list("storagedomains") if other.storage is not None and
                    other.storage.volume_group is not None for lun in (other.storage.volume_group.logical_units or [])}
            if not st.override_luns and any(lun.id in used for lun in luns):
                raise conflict("Cannot add Storage. The following LUNs are already in use: %s." % ", ".join(
                    lun.id for lun in luns if lun.id in used))
            size = 100 * GIB * len(luns)
            extra["capacity"] = size
            storage = T.HostStorage(type=kind, volume_group=T.VolumeGroup(id=new_id(), logical_units=[
                T.LogicalUnit(id=lun.id, address=lun.address, port=lun.port, target=lun.target, size=100 * GIB,
                              lun_mapping=0, vendor_id="LIO-ORG", product_id="sim-target",
                              storage_domain_id=None) for lun in luns]))
        else:
            raise conflict("Cannot add Storage. Storage type %s is not supported by the simulator." % kind.value)
        stored = T.StorageDomain(
            id=new_id(), name=sd.name, description=sd.description or "", comment=sd.comment or "", type=sd.type,
            master=False, storage=storage, storage_format=sd.storage_format or T.StorageFormat.V5,
            external_status=T.ExternalStatus.OK, backup=bool(sd.backup),
            wipe_after_delete=bool(sd.wipe_after_delete), discard_after_delete=bool(sd.discard_after_delete),
            supports_discard=kind in (T.StorageType.ISCSI, T.StorageType.FCP),
            warning_low_space_indicator=sd.warning_low_space_indicator if sd.warning_low_space_indicator is not None
            else 10,
            critical_space_action_blocker=sd.critical_space_action_blocker
            if sd.critical_space_action_blocker is not None else 5)
        export = self.real_export(storage)     # dr.py: a path that is a real directory holds the domain
        if export:
            extra["dir"] = os.path.join(export, stored.id)
        self.store.put("storagedomains", stored, extra=extra)
        self.sd_dir(stored.id)
        self.write_sd_metadata(stored.id)
        self.emit(956, "Storage Domain %s was added by admin@internal-authz" % stored.name, storage_domain=stored.id,
                  host=host.id)
        return self.decorate_sd(render("storagedomains", stored))

    def update_storagedomains(self, parent, sid, sd, query):
        stored = self.must("storagedomains", sid)
        if sd.name and sd.name != stored.name and self.by_name("storagedomains", sd.name):
            raise conflict("Cannot update Storage. The Storage Domain name is already in use.")
        merge(stored, sd, skip=("status", "master", "type", "storage", "data_center", "data_centers", "used",
                                "available", "committed", "storage_format", "external_status"))
        self.store.touch("storagedomains", sid)
        self.emit(958, "Storage Domain %s was updated by admin@internal-authz" % stored.name, storage_domain=sid)
        return self.get_storagedomains(parent, sid, query)

    def remove_storagedomains(self, parent, sid, query):
        sd = self.must("storagedomains", sid)
        if query.get("destroy", "false").lower() == "true":
            return self._destroy_storagedomain(sd)
        if self.store.x("storagedomains", sid).get("data_center"):
            raise conflict("Cannot remove Storage. Storage Domain %s is attached to a Data Center: detach it "
                           "first." % sd.name)
        if not query.get("host") and not query.get("destroy"):
            raise bad_request("Cannot remove Storage. The following parameter is required: host")
        if query.get("host"):
            host = self.by_name("hosts", query["host"]) or self.store.get("hosts", query["host"])
            if host is None:
                raise ApiError(404, "Entity not found: Host: name=%s" % query["host"])
        fmt = query.get("format", "false").lower() == "true"
        if any(d.storage_domains and d.storage_domains[0].id == sid for d in self.store.list("disks")) and not fmt:
            pass  # the images stay on the storage, as on a real Engine
        folder = self.sd_dir(sid)
        self.forget_domain_entities(sid)
        self.store.delete("storagedomains", sid)
        if fmt:
            shutil.rmtree(folder, ignore_errors=True)
        self.emit(960, "Storage Domain %s was removed by admin@internal-authz" % sd.name)

    def _destroy_storagedomain(self, sd):
        """ForceRemoveStorageDomainCommand: the Engine forgets the domain (force-detaching it from its data center,
        handing the master role on) and leaves its data on the storage, to be imported again."""
        x = self.store.x("storagedomains", sd.id)
        dcid = x.get("data_center")
        if dcid and x.get("status", "active") == "active":
            raise conflict("Cannot destroy Storage. The relevant Storage Domain's status is Active.")
        if dcid and sd.master:
            heirs = [o for o in self._dc_domains(dcid) if o.id != sd.id and o.type == T.StorageDomainType.DATA
                     and self.sd_status(o.id) == T.StorageDomainStatus.ACTIVE]
            if not heirs:
                raise conflict("Cannot destroy the master Storage Domain from the Data Center without another active "
                               "Storage Domain to take its place.\n-Either activate another Storage Domain in the "
                               "Data Center, or remove the Data Center.\n-If you have problems with the master Data "
                               "Domain, consider following the recovery process described in the documentation, or "
                               "contact your system administrator.")
            heirs[0].master = True
            self.store.touch("storagedomains", heirs[0].id)
        self.forget_domain_entities(sd.id)
        self.store.delete("storagedomains", sd.id)
        if dcid:
            self.dc_refresh_status(dcid)
        self.emit(981, "Storage Domain %s was forcibly removed by admin@internal-authz" % sd.name)

    # -- cluster upgrade -----------------------------------------------------------------------------
    def action_clusters_upgrade(self, parent, cid, action, query):
        """BackendClusterResource.upgrade: StartClusterUpgradeCommand, UpdateClusterUpgradeCommand,
        FinishClusterUpgradeCommand (the flag, percentage and correlation id are the cluster's columns)."""
        cluster = self.must("clusters", cid)
        what = action.upgrade_action
        if what is None:
            raise bad_request("Cannot upgrade Cluster. The following field is required: upgrade_action")
        what = what.value if hasattr(what, "value") else str(what)
        # ClusterUpgradeParameters.getEffectiveCorrelationid: the action's <correlation_id>, else the command's (the
        # Correlation-Id header, else one the Engine makes up)
        correlation = getattr(action, "body_correlation_id", None) or action.correlation_id or new_id()[:8]
        user = "admin@internal-authz"
        if what == "start":
            if cluster.upgrade_in_progress:
                # SetClusterUpgradeRunning finds no cluster with the flag down: the command fails in execution
                self.emit(893, "Failed to set upgrade running flag on Host cluster %s by %s" % (cluster.name, user),
                          "error", cluster=cid, correlation_id=action.correlation_id)
                raise ApiError(400, "[Failed to set upgrade running flag on cluster '%s'.]" % cid,
                               reason="Operation Failed")
            cluster.upgrade_in_progress = True
            cluster.upgrade_percent_complete = 0
            cluster.upgrade_correlation_id = correlation
            self.emit(892, "Successfully set upgrade running flag on Host cluster %s by %s" % (cluster.name, user),
                      cluster=cid, correlation_id=action.correlation_id)
        elif what == "update_progress":
            if not cluster.upgrade_in_progress:
                raise conflict("Cannot update progress, cluster upgrade has not been started.")
            pct = action.upgrade_percent_complete
            if pct is None or not 0 <= pct <= 100:
                raise conflict("Cannot update upgrade percent complete, the value needs to be in the range of 0 to "
                               "100.")
            if correlation != cluster.upgrade_correlation_id:
                raise conflict("Cannot update progress, given correlation id does not match the current update "
                               "correlation id.")
            cluster.upgrade_percent_complete = pct
            self.emit(896, "Successfully updated upgrade percent complete on Host cluster %s by (User: %s)" % (
                cluster.name, user), cluster=cid, correlation_id=action.correlation_id)
        elif what == "finish":
            # ClearClusterUpgradeRunning clears the flag whatever it was; the correlation id stays
            cluster.upgrade_in_progress = False
            cluster.upgrade_percent_complete = 0
            self.emit(894, "Successfully cleared upgrade running flag on Host cluster %s by (User: %s)" % (
                cluster.name, user), cluster=cid, correlation_id=action.correlation_id)
        else:
            raise bad_request("Invalid value '%s' for field 'upgrade_action'" % what)
        self.store.touch("clusters", cid)
        return self.action_result()

    # -- the Engine's periodic host update check --------------------------------------------------------
    def schedule_update_checks(self, delay=UPDATE_CHECK_FIRST):
        with self.lock:
            if not self.pending("periodic_update_check"):
                self.schedule(delay, "periodic_update_check")

    def timer_periodic_update_check(self):
        for host in self.store.list("hosts"):
            if host.status not in (H.UP, H.MAINTENANCE, H.NON_OPERATIONAL):
                continue
            pending = bool(self.store.x("hosts", host.id).get("pending_update"))
            if bool(host.update_available) != pending:
                host.update_available = pending
                self.store.touch("hosts", host.id)
            if pending:
                self.emit(885, "Check for available updates on host %s was completed successfully with message "
                               "'found updates for packages vdsm, ovirt-host'." % host.name, host=host.id,
                          cluster=host.cluster.id)
        self.schedule(float(self.tunables.get("update_check_hours", 24)) * 3600, "periodic_update_check")


# -- search fields (the Engine's *ConditionFieldAutoCompleter and cross-reference auto-completers) -------------------
def _v(fn, kind="str"):
    def get(e, o, f):
        try:
            v = fn(e, o)
        except AttributeError:
            v = None
        if v is None:
            return [], kind
        v = v.value if hasattr(v, "value") else v
        return (list(v) if isinstance(v, (list, tuple, set)) else [v]), kind
    return get


def _dc_of_cluster(e, c):
    return e.store.get("datacenters", c.data_center.id) if c is not None and c.data_center else None


def _sd_dc(e, sd):
    dcid = e.store.x("storagedomains", sd.id).get("data_center")
    return e.store.get("datacenters", dcid) if dcid else None


def _sd_status(e, sd):
    return e.store.x("storagedomains", sd.id).get("status", "active")


def _gb(e, v):
    return None if v is None else v // GIB


def _sd_sizes(e, sd, what):
    used, committed = e._sd_used(sd.id)
    total = e.store.x("storagedomains", sd.id).get("capacity", 2048 * GIB)
    return {"used": used, "committed": committed, "total": total, "free": max(0, total - used)}[what] // GIB


def _version(v):
    return None if v is None else "%s.%s" % (v.major, v.minor)


def _cluster_nets(e, c):
    ids = e._cluster_net_ids(c.id)
    return [n.name for n in e.store.list("networks") if n.id in ids]


def _host_vms(e, h, status=None):
    return sum(1 for v in e.store.list("vms") if v.host is not None and v.host.id == h.id and
               (status is None or v.status == status))


INFRA_FIELDS = {
    "datacenters": {
        "description": _v(lambda e, o: o.description), "comment": _v(lambda e, o: o.comment),
        "local": _v(lambda e, o: o.local, "bool"),
        "compatibility_version": _v(lambda e, o: _version(o.version)),
        "cluster.name": _v(lambda e, o: [c.name for c in e.store.list("clusters")
                                         if c.data_center and c.data_center.id == o.id]),
        "cluster": _v(lambda e, o: [c.name for c in e.store.list("clusters")
                                    if c.data_center and c.data_center.id == o.id]),
        "storage.name": _v(lambda e, o: [sd.name for sd in e._dc_domains(o.id)]),
        "storage": _v(lambda e, o: [sd.name for sd in e._dc_domains(o.id)]),
        "network.name": _v(lambda e, o: [n.name for n in e.store.list("networks")
                                         if n.data_center and n.data_center.id == o.id]),
    },
    "clusters": {
        "description": _v(lambda e, o: o.description), "comment": _v(lambda e, o: o.comment),
        "architecture": _v(lambda e, o: o.cpu.architecture, "enum"), "cpu_type": _v(lambda e, o: o.cpu.type),
        "compatibility_level": _v(lambda e, o: _version(o.version)),
        "datacenter.id": _v(lambda e, o: o.data_center.id),
        "storage.name": _v(lambda e, o: [sd.name for sd in e._dc_domains(o.data_center.id)]),
        "cluster_network.name": _v(_cluster_nets), "cluster_network": _v(_cluster_nets),
    },
    "storagedomains": {
        "status": _v(_sd_status, "enum"), "description": _v(lambda e, o: o.description),
        "comment": _v(lambda e, o: o.comment), "backup": _v(lambda e, o: o.backup, "bool"),
        "wipe_after_delete": _v(lambda e, o: o.wipe_after_delete, "bool"),
        "discard_after_delete": _v(lambda e, o: o.discard_after_delete, "bool"),
        "external_status": _v(lambda e, o: o.external_status, "enum"),
        "shared_status": _v(lambda e, o: "active" if _sd_status(e, o) == "active" else _sd_status(e, o), "enum"),
        "datacenter": _v(lambda e, o: _sd_dc(e, o).name), "datacenter.name": _v(lambda e, o: _sd_dc(e, o).name),
        "used_size": _v(lambda e, o: _sd_sizes(e, o, "used"), "num"),
        "total_size": _v(lambda e, o: _sd_sizes(e, o, "total"), "num"),
        "free_size": _v(lambda e, o: _sd_sizes(e, o, "free"), "num"),
        "committed": _v(lambda e, o: _sd_sizes(e, o, "committed"), "num"),
        "host.name": _v(lambda e, o: [h.name for h in e.store.list("hosts") if _sd_dc(e, o) is not None and
                                      _dc_of_cluster(e, e.store.get("clusters", h.cluster.id)) is not None and
                                      _dc_of_cluster(e, e.store.get("clusters", h.cluster.id)).id == _sd_dc(e, o).id]),
        "cluster.name": _v(lambda e, o: [c.name for c in e.store.list("clusters") if _sd_dc(e, o) is not None and
                                         c.data_center and c.data_center.id == _sd_dc(e, o).id]),
    },
    "networks": {
        "description": _v(lambda e, o: o.description), "comment": _v(lambda e, o: o.comment),
        "datacenter.name": _v(lambda e, o: e.store.get("datacenters", o.data_center.id).name),
        "mtu": _v(lambda e, o: o.mtu, "num"), "stp": _v(lambda e, o: o.stp, "bool"),
        "vlanid": _v(lambda e, o: o.vlan.id if o.vlan else None, "num"),
        "vmnetwork": _v(lambda e, o: bool(o.usages and T.NetworkUsage.VM in o.usages), "bool"),
        "label": _v(lambda e, o: []), "provider_name": _v(lambda e, o: []), "qos_name": _v(lambda e, o: []),
        "cluster_network.name": _v(lambda e, o: [c.name for c in e.store.list("clusters")
                                                 if o.id in e._cluster_net_ids(c.id)]),
        "host_network.name": _v(lambda e, o: [h.name for h in e.store.list("hosts") if any(
            n.network is not None and n.network.id == o.id for n in e.store.list("host_nics", h.id))]),
    },
    "hosts": {
        "comment": _v(lambda e, o: o.comment), "description": _v(lambda e, o: o.description),
        "memory": _v(lambda e, o: None if o.memory is None else o.memory // (1 << 20), "num"),
        "cpus": _v(lambda e, o: o.cpu.topology.sockets * o.cpu.topology.cores * (o.cpu.topology.threads or 1), "num"),
        "cpu_model": _v(lambda e, o: o.cpu.name), "cpu_speed": _v(lambda e, o: o.cpu.speed, "num"),
        "type": _v(lambda e, o: o.type, "enum"), "version": _v(lambda e, o: o.version.full_version),
        "active_vms": _v(_host_vms, "num"),
        "migrating_vms": _v(lambda e, o: _host_vms(e, o, T.VmStatus.MIGRATING), "num"),
        "ha_score": _v(lambda e, o: o.hosted_engine.score if o.hosted_engine else None, "num"),
        "architecture": _v(lambda e, o: T.Architecture.X86_64, "enum"),
        "external_status": _v(lambda e, o: o.external_status, "enum"),
        "committed_mem": _v(lambda e, o: e.host_committed(o.id) // (1 << 20), "num"),
        "tag": _v(lambda e, o: [t.name for t in e.store.list("host_tags", o.id)]),
        "datacenter.name": _v(lambda e, o: _dc_of_cluster(e, e.store.get("clusters", o.cluster.id)).name),
    },
}
