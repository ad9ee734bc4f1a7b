# SPDX-License-Identifier: GPL-3.0-or-later
"""Seeds: the ``default`` topology the playbooks and docs use, and ``large`` for scale tests."""

import os
import uuid

from ovirtsdk4 import types as T

from .model import ref

GIB = 1 << 30
_NS = uuid.UUID("6d1f3a52-1c7e-4d0a-9a63-3d5f3c2b9e10")

OPERATING_SYSTEMS = [
    ("other", "Other OS"), ("other_linux", "Linux"), ("rhel_8x64", "Red Hat Enterprise Linux 8.x x64"),
    ("rhel_9x64", "Red Hat Enterprise Linux 9.x x64"), ("centos_9x64", "CentOS Stream 9 x64"),
    ("debian_12", "Debian 12"), ("ubuntu_22_04", "Ubuntu 22.04"), ("windows_2019x64", "Windows 2019 x64"),
    ("windows_2022", "Windows 2022 x64"),
]
SCHEDULING_POLICIES = ["none", "evenly_distributed", "power_saving", "vm_evenly_distributed", "cluster_maintenance"]
# The libvirt nwfilters the Engine lists under /networkfilters; vdsm-no-mac-spoofing is the default filter of new vNIC
# profiles (EnableMACAntiSpoofingFilterRules).
NETWORK_FILTERS = ["allow-arp", "allow-dhcp", "allow-dhcp-server", "allow-incoming-ipv4", "allow-ipv4", "clean-traffic",
                   "clean-traffic-gateway", "no-arp-ip-spoofing", "no-arp-mac-spoofing", "no-arp-spoofing",
                   "no-ip-multicast", "no-ip-spoofing", "no-mac-broadcast", "no-mac-spoofing", "no-other-l2-traffic",
                   "no-other-rarp-traffic", "qemu-announce-self", "qemu-announce-self-rarp", "vdsm-no-mac-spoofing"]
DEFAULT_NETWORK_FILTER = "vdsm-no-mac-spoofing"
# Configuration options the Engine lets users read (ConfigValues with ClientAccessLevel User) whose values this
# simulator follows: search page size, new storage domains' space thresholds, the highest HA priority.
SYSTEM_OPTIONS = {"SearchResultsLimit": "100", "WarningLowSpaceIndicator": "10", "CriticalSpaceActionBlocker": "5",
                  "VmPriorityMaxValue": "100"}


_SITE = [""]   # the DR seeds' site prefix: two sites' Engines never share ids (ovirtmgmt, its profile, ...)


def sid(kind, name):
    """Stable ids, so two simulators on the same seed agree (handy in docs and tests)."""
    return str(uuid.uuid5(_NS, "%s%s/%s" % (_SITE[0], kind, name)))


def _common(engine, dc_name="Default"):
    st = engine.store
    for name, desc in OPERATING_SYSTEMS:
        st.put("operatingsystems", T.OperatingSystemInfo(id=sid("os", name), name=name, description=desc,
                                                         architecture=T.Architecture.X86_64))
    for name in SCHEDULING_POLICIES:
        policy = T.SchedulingPolicy(id=sid("sp", name), name=name, description=name,
                                    default_policy=name == "none", locked=True)
        st.put("schedulingpolicies", policy)
    for name in NETWORK_FILTERS:
        st.put("networkfilters", T.NetworkFilter(id=sid("nwfilter", name), name=name,
                                                 version=T.Version(major=4, minor=0, build=0, revision=0)))
    for name, value in SYSTEM_OPTIONS.items():
        st.put("systemoptions", T.SystemOption(id=name, name=name, values=[
            T.SystemOptionValue(value=value, version="general")]))
    st.put("tags", T.Tag(id="00000000-0000-0000-0000-000000000000", name="root", description="root"))
    from .infra import DEFAULT_MAC_POOL
    st.put("macpools", T.MacPool(id=DEFAULT_MAC_POOL, name="Default", description="Default MAC pool",
                                 allow_duplicates=False, default_pool=True,
                                 ranges=[T.Range(from_="56:6f:00:00:00:00", to="56:6f:ff:ff:ff:ff")]))
    dc = T.DataCenter(id=sid("dc", dc_name), name=dc_name, description="The default Data Center", local=False,
                      status=T.DataCenterStatus.UP, storage_format=T.StorageFormat.V5,
                      version=T.Version(major=4, minor=7),
                      supported_versions=[T.Version(major=4, minor=7)],
                      quota_mode=T.QuotaModeType.DISABLED, comment="",
                      mac_pool=ref("macpools", DEFAULT_MAC_POOL))
    st.put("datacenters", dc)
    net = T.Network(id=sid("net", "ovirtmgmt"), name="ovirtmgmt", description="Management Network",
                    data_center=ref("datacenters", dc.id), mtu=0, stp=False, required=True,
                    usages=[T.NetworkUsage.VM, T.NetworkUsage.MANAGEMENT])
    st.put("networks", net)
    st.put("vnicprofiles", T.VnicProfile(id=sid("vnic", "ovirtmgmt"), name="ovirtmgmt", description="",
                                         network=ref("networks", net.id), port_mirroring=False, migratable=True,
                                         network_filter=ref("networkfilters", sid("nwfilter", DEFAULT_NETWORK_FILTER)),
                                         pass_through=T.VnicPassThrough(mode=T.VnicPassThroughMode.DISABLED)))
    return dc


def new_cluster(engine, name, dc_id):
    c = T.Cluster(
        id=sid("cluster", name), name=name, description="", data_center=ref("datacenters", dc_id),
        cpu=T.Cpu(architecture=T.Architecture.X86_64, type="Intel Icelake Server Family"),
        version=T.Version(major=4, minor=7), ballooning_enabled=True, ha_reservation=False,
        memory_policy=T.MemoryPolicy(over_commit=T.MemoryOverCommit(percent=100),
                                     transparent_huge_pages=T.TransparentHugePages(enabled=True)),
        error_handling=T.ErrorHandling(on_error=T.MigrateOnError.MIGRATE),
        fencing_policy=T.FencingPolicy(enabled=True, skip_if_sd_active=T.SkipIfSdActive(enabled=False),
                                       skip_if_connectivity_broken=T.SkipIfConnectivityBroken(enabled=False,
                                                                                              threshold=50),
                                       skip_if_gluster_bricks_up=False, skip_if_gluster_quorum_not_met=False),
        scheduling_policy=ref("schedulingpolicies", sid("sp", "none")),
        migration=T.MigrationOptions(auto_converge=T.InheritableBoolean.INHERIT,
                                     compressed=T.InheritableBoolean.INHERIT,
                                     encrypted=T.InheritableBoolean.INHERIT,
                                     bandwidth=T.MigrationBandwidth(assignment_method=T.MigrationBandwidthAssignmentMethod.AUTO),
                                     policy=T.MigrationPolicy(id="80554327-0569-496b-bdeb-fcbbf52b827b"),
                                     parallel_migrations_policy=T.ParallelMigrationsPolicy.DISABLED),
        ksm=T.Ksm(enabled=True, merge_across_nodes=True),
        mac_pool=ref("macpools", "58ca604b-017d-0374-0220-00000000014e"),
        serial_number=T.SerialNumber(policy=T.SerialNumberPolicy.HOST),
        comment="", tunnel_migration=False, fips_mode=T.FipsMode.DISABLED,
        bios_type=T.BiosType.Q35_OVMF, log_max_memory_used_threshold=95,
        log_max_memory_used_threshold_type=T.LogMaxMemoryUsedThresholdType.PERCENTAGE,
        required_rng_sources=[T.RngSource.URANDOM], custom_scheduling_policy_properties=[],
        gluster_tuned_profile="", upgrade_in_progress=False, upgrade_percent_complete=0,
        threads_as_cores=False, trusted_service=False, virt_service=True, gluster_service=False,
        firewall_type=T.FirewallType.FIREWALLD, switch_type=T.SwitchType.LEGACY)
    engine.store.put("clusters", c)
    return c


def host_record(hid, name, address, cluster_id, status, memory=64 * GIB, cores=16, spm=False, spm_priority=5,
                port=54321, ssh_port=22, comment="", description=""):
    """A complete host as the Engine reports one (every field the official modules read), for seeds and adds.
    Power management starts disabled: the Engine refuses "enabled" without a fence agent, so the administrator
    adds the agent (the simulated BMC is there) and enables it."""
    return T.Host(
        id=hid, name=name, address=address, comment=comment, description=description,
        status=status, cluster=ref("clusters", cluster_id), memory=memory, port=port,
        protocol=T.HostProtocol.STOMP, type=T.HostType.RHEL, update_available=False,
        cpu=T.Cpu(name="Intel(R) Xeon(R) Gold 6338", speed=2000.0,
                  topology=T.CpuTopology(sockets=2, cores=cores // 2, threads=1)),
        os=T.OperatingSystem(type="RHEL", version=T.Version(full_version="9.4 - 1.el9", major=9, minor=4),
                             custom_kernel_cmdline="", reported_kernel_cmdline="BOOT_IMAGE=/vmlinuz root=/dev/sda1"),
        version=T.Version(full_version="vdsm-4.50.5", major=4, minor=50),
        power_management=T.PowerManagement(enabled=False, kdump_detection=True, automatic_pm_enabled=True,
                                           pm_proxies=[T.PmProxy(type=T.PmProxyType.CLUSTER),
                                                       T.PmProxy(type=T.PmProxyType.DC)]),
        spm=T.Spm(priority=spm_priority, status=T.SpmStatus.SPM if spm else T.SpmStatus.NONE),
        hosted_engine=T.HostedEngine(configured=False, active=False),
        ksm=T.Ksm(enabled=False), transparent_huge_pages=T.TransparentHugePages(enabled=True),
        kdump_status=T.KdumpStatus.DISABLED, se_linux=T.SeLinux(mode=T.SeLinuxMode.ENFORCING),
        external_status=T.ExternalStatus.OK, libvirt_version=T.Version(full_version="libvirt-9.5.0"),
        ssh=T.Ssh(port=ssh_port, fingerprint="SHA256:sim%s" % name))


def new_host(engine, name, cluster_id, index, memory=64 * GIB, cores=16, spm=False, update=False):
    hid = sid("host", name)
    host = host_record(hid, name, "%s.example.test" % name, cluster_id, T.HostStatus.UP, memory=memory, cores=cores,
                       spm=spm)
    engine.store.put("hosts", host, extra={
        "pending_update": update, "boot_time": 0,
        "bmc": {"address": "bmc-%s.example.test" % name, "username": "admin", "password": "calvin",
                "type": "ipmilan", "power": "on"}})
    octet = index % 250 + 10
    engine.store.put("host_nics", T.HostNic(
        id=sid("hostnic", name), name="eno1", mac=T.Mac(address="52:54:00:00:%02x:%02x" % (index // 256 % 256, index % 256)),
        ip=T.Ip(address="192.0.2.%d" % octet, netmask="255.255.255.0", version=T.IpVersion.V4), mtu=1500,
        speed=10 * 1000 ** 3, status=T.NicStatus.UP, boot_protocol=T.BootProtocol.STATIC, bridged=True,
        network=ref("networks", sid("net", "ovirtmgmt")), host=ref("hosts", hid)), parent=hid)
    return host


def new_sd(engine, name, dc_id, kind=T.StorageDomainType.DATA, capacity=2048 * GIB):
    sd = T.StorageDomain(
        id=sid("sd", name), name=name, description="", comment="", type=kind, master=kind == T.StorageDomainType.DATA,
        storage=T.HostStorage(type=T.StorageType.NFS, address="nfs.example.test", path="/exports/%s" % name),
        storage_format=T.StorageFormat.V5, external_status=T.ExternalStatus.OK, backup=kind == T.StorageDomainType.DATA
        and name.startswith("backup"), wipe_after_delete=False, discard_after_delete=False,
        supports_discard=False, warning_low_space_indicator=10, critical_space_action_blocker=5)
    engine.store.put("storagedomains", sd, extra={"data_center": dc_id, "status": "active", "capacity": capacity})
    engine.sd_dir(sd.id)
    return sd


def _blank(engine, cluster_id=None):
    st = engine.store
    st.put("templates", T.Template(
        id=engine.BLANK_ID, name="Blank", description="Blank template", status=T.TemplateStatus.OK,
        memory=GIB, memory_policy=T.MemoryPolicy(guaranteed=GIB, max=4 * GIB, ballooning=True),
        cpu=T.Cpu(architecture=T.Architecture.X86_64, topology=T.CpuTopology(sockets=1, cores=1, threads=1)),
        os=T.OperatingSystem(type="other", boot=T.Boot(devices=[T.BootDevice.HD])), type=T.VmType.SERVER,
        high_availability=T.HighAvailability(enabled=False, priority=0), stateless=False,
        version=T.TemplateVersion(version_number=1), origin="ovirt"))


def _bootable_template(engine, name, cluster_id, sd_id, os_type="rhel_9x64", size=10 * GIB):
    st = engine.store
    tid = sid("template", name)
    st.put("templates", T.Template(
        id=tid, name=name, description="CentOS Stream 9 cloud image with cloud-init", status=T.TemplateStatus.OK,
        cluster=ref("clusters", cluster_id), memory=2 * GIB,
        memory_policy=T.MemoryPolicy(guaranteed=GIB, max=8 * GIB, ballooning=True),
        cpu=T.Cpu(architecture=T.Architecture.X86_64, topology=T.CpuTopology(sockets=1, cores=2, threads=1)),
        os=T.OperatingSystem(type=os_type, boot=T.Boot(devices=[T.BootDevice.HD])), type=T.VmType.SERVER,
        high_availability=T.HighAvailability(enabled=False, priority=0), stateless=False,
        version=T.TemplateVersion(version_number=1), origin="ovirt"))
    disk = engine.create_disk("%s_Disk1" % name, size, sd_id, T.DiskFormat.COW, locked_for=0)
    st.put("template_disk_attachments", T.DiskAttachment(
        id=disk.id, disk=ref("disks", disk.id), interface=T.DiskInterface.VIRTIO_SCSI, bootable=True, active=True,
        template=ref("templates", tid)), parent=tid)
    st.put("template_nics", T.Nic(id=sid("tnic", name), name="nic1", interface=T.NicInterface.VIRTIO,
                                  vnic_profile=ref("vnicprofiles", sid("vnic", "ovirtmgmt")),
                                  template=ref("templates", tid)), parent=tid)
    return tid


def seed_default(engine):
    dc = _common(engine)
    cluster = new_cluster(engine, "Default", dc.id)
    for i in range(1, 4):
        new_host(engine, "host%02d" % i, cluster.id, i, spm=(i == 1))
    data = new_sd(engine, "data-nfs", dc.id)
    new_sd(engine, "backup-nfs", dc.id, kind=T.StorageDomainType.DATA)
    engine.store.get("storagedomains", sid("sd", "backup-nfs")).backup = True
    _blank(engine)
    _bootable_template(engine, "centos9-template", cluster.id, data.id)
    engine.emit(9500, "ovirt-engine-sim started with the default seed.")


def seed_large(engine, hosts=200, clusters=4, vms=10000):
    dc = _common(engine)
    cl = [new_cluster(engine, "Default" if i == 0 else "cluster%02d" % i, dc.id) for i in range(clusters)]
    data = new_sd(engine, "data-nfs", dc.id, capacity=512 * 1024 * GIB)
    new_sd(engine, "backup-nfs", dc.id)
    _blank(engine)
    tid = _bootable_template(engine, "centos9-template", cl[0].id, data.id)
    host_objs = []
    for i in range(hosts):
        c = cl[i % clusters]
        host_objs.append(new_host(engine, "host%03d" % (i + 1), c.id, i + 1, memory=512 * GIB, cores=64,
                                  spm=i == 0, update=i % 3 == 0))
    now = engine.now_dt()
    profile = ref("vnicprofiles", sid("vnic", "ovirtmgmt"))
    st = engine.store
    per_host = {}
    for i in range(vms):
        host = host_objs[i % hosts]
        running = i % 5 != 0
        vid = str(uuid.UUID(int=(1 << 124) | i))
        vm = T.Vm(id=vid, name="vm%05d" % i, description="", comment="", status=T.VmStatus.UP if running else T.VmStatus.DOWN,
                  cluster=host.cluster, template=ref("templates", tid), origin="ovirt", creation_time=now,
                  host=ref("hosts", host.id) if running else None, start_time=now if running else None,
                  memory=(2 + (i % 4) * 2) * GIB, memory_policy=T.MemoryPolicy(guaranteed=GIB, max=16 * GIB),
                  cpu=T.Cpu(architecture=T.Architecture.X86_64, topology=T.CpuTopology(sockets=2, cores=1, threads=1)),
                  os=T.OperatingSystem(type="rhel_9x64"), type=T.VmType.SERVER,
                  high_availability=T.HighAvailability(enabled=i % 10 == 0, priority=50 if i % 10 == 0 else 0),
                  placement_policy=T.VmPlacementPolicy(affinity=T.VmAffinity.MIGRATABLE),
                  stateless=False, delete_protected=False, run_once=False, next_run_configuration_exists=False)
        st.put("vms", vm)
        mac = "56:6f:%02x:%02x:%02x:%02x" % (0x80 | (i >> 24) & 0x7F, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF)
        st.put("vm_nics", T.Nic(id=str(uuid.UUID(int=(2 << 124) | i)), name="nic1", interface=T.NicInterface.VIRTIO,
                                mac=T.Mac(address=mac), plugged=True, linked=True, vnic_profile=profile,
                                vm=ref("vms", vid)), parent=vid)
        per_host[host.id] = per_host.get(host.id, 0) + 1
    engine.emit(9500, "ovirt-engine-sim started with the large seed (%d hosts, %d VMs)." % (hosts, vms))


def seed_patch(engine, hosts=12, vms=240):
    """The patching estate: cluster Default with host01..host12 (64 GiB, 16 cores), each with an update waiting
    (already found by an update check), and 240 running VMs of 1 or 2 GiB spread evenly; every tenth is HA, and
    four are pinned to their host (non-migratable). host01 is the SPM."""
    dc = _common(engine)
    cluster = new_cluster(engine, "Default", dc.id)
    data = new_sd(engine, "data-nfs", dc.id, capacity=64 * 1024 * GIB)
    new_sd(engine, "backup-nfs", dc.id)
    engine.store.get("storagedomains", sid("sd", "backup-nfs")).backup = True
    _blank(engine)
    tid = _bootable_template(engine, "centos9-template", cluster.id, data.id)
    host_objs = [new_host(engine, "host%02d" % (i + 1), cluster.id, i + 1, spm=i == 0, update=True)
                 for i in range(hosts)]
    for h in host_objs:
        h.update_available = True
    now = engine.now_dt()
    profile = ref("vnicprofiles", sid("vnic", "ovirtmgmt"))
    pinned_hosts = {2, 6, 9}  # host03, host07, host10
    for i in range(vms):
        host = host_objs[i % hosts]
        vid = str(uuid.UUID(int=(3 << 124) | i))
        pinned = (i % hosts) in pinned_hosts and i < hosts * 2 and (i // hosts == 0 or i % hosts == 2)
        vm = T.Vm(id=vid, name="app%03d" % i, description="", comment="", status=T.VmStatus.UP,
                  cluster=host.cluster, template=ref("templates", tid), origin="ovirt", creation_time=now,
                  host=ref("hosts", host.id), start_time=now, memory=(1 + i % 2) * GIB,
                  memory_policy=T.MemoryPolicy(guaranteed=GIB // 2, max=8 * GIB),
                  cpu=T.Cpu(architecture=T.Architecture.X86_64, topology=T.CpuTopology(sockets=1, cores=1, threads=1)),
                  os=T.OperatingSystem(type="rhel_9x64"), type=T.VmType.SERVER,
                  high_availability=T.HighAvailability(enabled=i % 10 == 0, priority=50 if i % 10 == 0 else 0),
                  placement_policy=T.VmPlacementPolicy(
                      affinity=T.VmAffinity.PINNED if pinned else T.VmAffinity.MIGRATABLE,
                      hosts=[ref("hosts", host.id)] if pinned else None),
                  stateless=False, delete_protected=False, run_once=False, next_run_configuration_exists=False)
        engine.store.put("vms", vm)
        mac = "56:6f:%02x:%02x:%02x:%02x" % (0x40, 0, (i >> 8) & 0xFF, i & 0xFF)
        engine.store.put("vm_nics", T.Nic(id=str(uuid.UUID(int=(4 << 124) | i)), name="nic1",
                                          interface=T.NicInterface.VIRTIO, mac=T.Mac(address=mac), plugged=True,
                                          linked=True, vnic_profile=profile, vm=ref("vms", vid)), parent=vid)
    engine.emit(9500, "ovirt-engine-sim started with the patch seed (%d hosts, %d VMs)." % (hosts, vms))


# -- disaster recovery: two sites ----------------------------------------------------------------------------
DR_PRIMARY_MACS = ("56:6f:1a:00:00:00", "56:6f:1a:00:ff:ff")
DR_SECONDARY_MACS = ("56:6f:2b:00:00:00", "56:6f:2b:00:ff:ff")


def _dr_site(engine, site, dc_name, cluster_name, host_prefix, macs, description):
    _SITE[0] = site + "/"
    dc = _common(engine, dc_name)
    dc.description = description
    pool = engine.store.list("macpools")[0]
    pool.ranges = [T.Range(from_=macs[0], to=macs[1])]
    cluster = new_cluster(engine, cluster_name, dc.id)
    for i in range(1, 4):
        new_host(engine, "%s%02d" % (host_prefix, i), cluster.id, i + (0 if site == "dr-primary" else 100),
                 spm=(i == 1))
    _blank(engine)
    return dc, cluster


def _dr_network(engine, dc_id, cluster_id, name, description=""):
    net = T.Network(id=sid("net", name), name=name, description=description, data_center=ref("datacenters", dc_id),
                    mtu=0, stp=False, required=False, usages=[T.NetworkUsage.VM])
    engine.store.put("networks", net)
    engine.store.put("vnicprofiles", T.VnicProfile(
        id=sid("vnic", name), name=name, description="", network=ref("networks", net.id), port_mirroring=False,
        migratable=True, network_filter=ref("networkfilters", sid("nwfilter", DEFAULT_NETWORK_FILTER)),
        pass_through=T.VnicPassThrough(mode=T.VnicPassThroughMode.DISABLED)))
    nets = engine._cluster_net_ids(cluster_id)
    nets[net.id] = False
    engine.store.x("clusters", cluster_id)["networks"] = nets
    return net


def _exported_sd(engine, name, dc_id, address, master):
    """A data domain on a real export directory (``<state dir>/exports/<name>/<sd id>``): what replication copies
    and what the other site imports from its replica."""
    sd = new_sd(engine, name, dc_id)
    export = os.path.join(engine.state_dir, "exports", name)
    sd.storage = T.HostStorage(type=T.StorageType.NFS, address=address, path=export)
    sd.master = master
    engine.store.x("storagedomains", sd.id)["dir"] = os.path.join(export, sd.id)
    engine.sd_dir(sd.id)
    engine.write_sd_metadata(sd.id)
    return sd


def _dr_vm(engine, name, cluster_id, tid, hosts, nets, index, ha_priority=None, up=False, sd_id=None):
    st = engine.store
    vid = sid("vm", name)
    host = hosts[index % len(hosts)] if up else None
    now = engine.now_dt()
    vm = T.Vm(id=vid, name=name, description="", comment="", status=T.VmStatus.UP if up else T.VmStatus.DOWN,
              cluster=ref("clusters", cluster_id), template=ref("templates", tid),
              original_template=ref("templates", tid), origin="ovirt", creation_time=now,
              host=ref("hosts", host.id) if host else None, start_time=now if up else None, memory=2 * GIB,
              memory_policy=T.MemoryPolicy(guaranteed=GIB, max=8 * GIB, ballooning=True),
              cpu=T.Cpu(architecture=T.Architecture.X86_64, topology=T.CpuTopology(sockets=1, cores=2, threads=1)),
              os=T.OperatingSystem(type="rhel_9x64", boot=T.Boot(devices=[T.BootDevice.HD])), type=T.VmType.SERVER,
              high_availability=T.HighAvailability(enabled=ha_priority is not None, priority=ha_priority or 0),
              placement_policy=T.VmPlacementPolicy(affinity=T.VmAffinity.MIGRATABLE),
              storage_error_resume_behaviour=T.VmStorageErrorResumeBehaviour.AUTO_RESUME,
              stateless=False, delete_protected=False, run_once=False, next_run_configuration_exists=False,
              console=T.Console(enabled=False))
    from .dr import engine_defaults
    engine_defaults(vm)
    st.put("vms", vm, extra={"gen": 0, "graphics": ["spice"]})
    for att in st.list("template_disk_attachments", tid):
        src = st.get("disks", att.disk.id)
        disk = engine.create_disk(src.alias.replace(st.get("templates", tid).name, name), src.provisioned_size,
                                  sd_id or src.storage_domains[0].id, T.DiskFormat.COW,
                                  backing=None if sd_id else engine.disk_path(src.id),
                                  copy_from=engine.disk_path(src.id) if sd_id else None, locked_for=0)
        st.put("vm_disk_attachments", T.DiskAttachment(
            id=disk.id, disk=ref("disks", disk.id), interface=att.interface, bootable=att.bootable, active=True,
            pass_discard=False, read_only=False, uses_scsi_reservation=False, vm=ref("vms", vid)), parent=vid)
    for n, net in enumerate(nets):
        st.put("vm_nics", T.Nic(id=sid("nic", "%s/%d" % (name, n)), name="nic%d" % (n + 1),
                                interface=T.NicInterface.VIRTIO, mac=T.Mac(address=engine.allocate_mac(cluster_id)),
                                plugged=True, linked=True, vnic_profile=ref("vnicprofiles", sid("vnic", net)),
                                vm=ref("vms", vid)), parent=vid)
    engine._active_snapshot(vid)
    return vm


def seed_dr_primary(engine):
    """Site east of the two-site DR pair: dc-east, cluster east (east01-03), data domain dr-data on a real export
    (the replicated one; a template and its VMs) and east-local (not replicated), networks ovirtmgmt and app,
    HA VMs with priorities, affinity group web-spread, labels tier-web/tier-db, MAC pool range 56:6f:1a:00:xx:xx."""
    try:
        dc, cluster = _dr_site(engine, "dr-primary", "dc-east", "east", "east", DR_PRIMARY_MACS,
                               "Primary site (east)")
        data = _exported_sd(engine, "dr-data", dc.id, "nfs-east.example.test", master=True)
        local = new_sd(engine, "east-local", dc.id)
        local.master = False
        _dr_network(engine, dc.id, cluster.id, "app", "Application network")
        tid = _bootable_template(engine, "centos9-east", cluster.id, data.id)
        from .dr import engine_defaults
        engine_defaults(engine.store.get("templates", tid))
        hosts = list(engine.store.list("hosts"))
        vms = {}
        for i, (name, prio, up, nets) in enumerate((
                ("web01", 100, True, ("ovirtmgmt", "app")), ("web02", 100, True, ("ovirtmgmt", "app")),
                ("db01", 80, True, ("ovirtmgmt", "app")), ("app01", 50, True, ("ovirtmgmt", "app")),
                ("tools01", None, False, ("ovirtmgmt",)))):
            vms[name] = _dr_vm(engine, name, cluster.id, tid, hosts, nets, i, ha_priority=prio, up=up)
        vms["batch01"] = _dr_vm(engine, "batch01", cluster.id, tid, hosts, ("ovirtmgmt",), 5, up=False,
                                sd_id=local.id)
        engine.store.put("cluster_affinity_groups", T.AffinityGroup(
            id=sid("ag", "web-spread"), name="web-spread", description="keep the web servers apart",
            cluster=ref("clusters", cluster.id), priority=1.0, positive=False, enforcing=False,
            vms_rule=T.AffinityRule(enabled=True, positive=False, enforcing=False),
            hosts_rule=T.AffinityRule(enabled=False, positive=False, enforcing=False),
            vms=[ref("vms", vms["web01"].id), ref("vms", vms["web02"].id)], hosts=[]), parent=cluster.id)
        for label, members in (("tier-web", ("web01", "web02")), ("tier-db", ("db01",))):
            engine.store.put("affinitylabels", T.AffinityLabel(
                id=sid("label", label), name=label, description="", read_only=False,
                has_implicit_affinity_group=False), extra={"vms": [vms[m].id for m in members], "hosts": []})
        engine.update_ovf_store(data.id)     # the Engine's last OVF update before the simulation starts
        engine.emit(9500, "ovirt-engine-sim started with the dr-primary seed (site east).")
    finally:
        _SITE[0] = ""


def seed_dr_secondary(engine):
    """Site west: dc-west, cluster west (west01-03), its own data domain west-data, networks ovirtmgmt, app-west
    (profile app-west) and the isolated drill network (profile drill), affinity group web-spread and labels
    tier-web/tier-db by the same names as on east, MAC pool range 56:6f:2b:00:xx:xx."""
    try:
        dc, cluster = _dr_site(engine, "dr-secondary", "dc-west", "west", "west", DR_SECONDARY_MACS,
                               "Secondary site (west)")
        _exported_sd(engine, "west-data", dc.id, "nfs-west.example.test", master=True)
        _dr_network(engine, dc.id, cluster.id, "app-west", "Application network (west)")
        _dr_network(engine, dc.id, cluster.id, "drill", "Isolated network for DR drills")
        engine.store.put("cluster_affinity_groups", T.AffinityGroup(
            id=sid("ag", "web-spread"), name="web-spread", description="keep the web servers apart",
            cluster=ref("clusters", cluster.id), priority=1.0, positive=False, enforcing=False,
            vms_rule=T.AffinityRule(enabled=True, positive=False, enforcing=False),
            hosts_rule=T.AffinityRule(enabled=False, positive=False, enforcing=False), vms=[], hosts=[]),
            parent=cluster.id)
        for label in ("tier-web", "tier-db"):
            engine.store.put("affinitylabels", T.AffinityLabel(
                id=sid("label", label), name=label, description="", read_only=False,
                has_implicit_affinity_group=False), extra={"vms": [], "hosts": []})
        engine.emit(9500, "ovirt-engine-sim started with the dr-secondary seed (site west).")
    finally:
        _SITE[0] = ""


SEEDS = {"default": seed_default, "large": seed_large, "patch": seed_patch, "dr-primary": seed_dr_primary,
         "dr-secondary": seed_dr_secondary}
