# SPDX-License-Identifier: GPL-3.0-or-later
"""Objects a published example expects by name that no earlier example in the catalogue creates.

A catalogue entry lists them under ``prepare``; each name here is one step, done with the SDK as an
administrator would have done it before running the script."""

from ovirtsdk4 import types


def _vm(name, cluster="mycluster", template="Blank"):
    def step(runner):
        vms = runner.connection().system_service().vms_service()
        if not vms.list(search="name=%s" % name):
            vms.add(types.Vm(name=name, cluster=types.Cluster(name=cluster), template=types.Template(name=template),
                             memory=1 << 30))
    return step


def _wait(fetch, done, timeout=60):
    import time
    deadline = time.monotonic() + timeout
    while not done(fetch()):
        if time.monotonic() > deadline:
            raise RuntimeError("prepare: timed out waiting")
        time.sleep(0.2)


def _stopped(name):
    """The VM is down (a user powers it off before an example that needs it down)."""
    def step(runner):
        vms = runner.connection().system_service().vms_service()
        vm = vms.list(search="name=%s" % name)[0]
        service = vms.vm_service(vm.id)
        if vm.status not in (types.VmStatus.DOWN, types.VmStatus.IMAGE_LOCKED):
            service.stop()
        _wait(service.get, lambda v: v.status == types.VmStatus.DOWN)
    return step


def _all_stopped(host=None):
    """Every VM (or every VM on ``host``) down: what an administrator does before taking a lone host or a whole
    data center into maintenance (with no other host in the cluster, the Engine cannot migrate them)."""
    def step(runner):
        vms = runner.connection().system_service().vms_service()
        for vm in vms.list(search=("host=%s" % host) if host else None):
            if vm.status not in (types.VmStatus.DOWN, types.VmStatus.IMAGE_LOCKED):
                vms.vm_service(vm.id).stop()
        _wait(lambda: [v for v in vms.list(search=("host=%s" % host) if host else None)
                       if v.status != types.VmStatus.DOWN], lambda left: not left)
    return step


def _snapshot(vm_name, description):
    """A snapshot of the VM with the description an example looks for."""
    def step(runner):
        vms = runner.connection().system_service().vms_service()
        vm = vms.list(search="name=%s" % vm_name)[0]
        snaps = vms.vm_service(vm.id).snapshots_service()
        found = [s for s in snaps.list() if s.description == description]
        snap = found[0] if found else snaps.add(types.Snapshot(description=description))
        _wait(snaps.snapshot_service(snap.id).get, lambda s: s.snapshot_status == types.SnapshotStatus.OK)
    return step


def _rename_sd(old, new):
    def step(runner):
        sds = runner.connection().system_service().storage_domains_service()
        found = sds.list(search="name=%s" % old)
        if found:
            sds.storage_domain_service(found[0].id).update(types.StorageDomain(name=new))
    return step


def _user(user_name):
    """A directory user added to the Engine (what ``ovirt_user`` or the Administration portal does)."""
    def step(runner):
        users = runner.connection().system_service().users_service()
        if not users.list(search="usrname=%s" % user_name):
            name, domain = user_name.rsplit("@", 1)
            users.add(types.User(user_name=name, domain=types.Domain(name=domain)))
    return step


def _removed_vm(name):
    """The VM is gone (a user removes what an earlier example left before an example that reuses its name)."""
    def step(runner):
        vms = runner.connection().system_service().vms_service()
        for vm in vms.list(search="name=%s" % name):
            service = vms.vm_service(vm.id)
            if vm.status not in (types.VmStatus.DOWN, types.VmStatus.IMAGE_LOCKED):
                service.stop()
            _wait(service.get, lambda v: v.status == types.VmStatus.DOWN)
            service.remove()
    return step


def _iscsi_domain(name, lun_id, dc="mydc", host="myhost"):
    """A block (iSCSI) data domain attached to the data center, as add_iscsi_data_storage_domain.py makes one."""
    def step(runner):
        system = runner.connection().system_service()
        sds = system.storage_domains_service()
        found = sds.list(search="name=%s" % name)
        sd = found[0] if found else sds.add(types.StorageDomain(
            name=name, type=types.StorageDomainType.DATA, host=types.Host(name=host),
            storage_format=types.StorageFormat.V4,
            storage=types.HostStorage(type=types.StorageType.ISCSI, override_luns=True, volume_group=types.VolumeGroup(
                logical_units=[types.LogicalUnit(id=lun_id, address="192.168.201.3", port=3260,
                                                 target="iqn.2014-07.org.ovirt:storage")]))))
        dcs = system.data_centers_service()
        attached = dcs.data_center_service(dcs.list(search="name=%s" % dc)[0].id).storage_domains_service()
        if not any(a.id == sd.id for a in attached.list()):
            attached.add(types.StorageDomain(id=sd.id))
        _wait(attached.storage_domain_service(sd.id).get, lambda d: d.status == types.StorageDomainStatus.ACTIVE)
    return step


def _template_version(base_name, number, vm_name="myvm"):
    """Version ``number`` of a template, made from a VM (the Administration portal's "Make Template" with
    "Create as a Template Sub-Version", or ovirt_template with ``version.base_template``)."""
    def step(runner):
        system = runner.connection().system_service()
        templates = system.templates_service()
        chain = templates.list(search="name=%s" % base_name)
        if any(t.version.version_number == number for t in chain):
            return
        base = [t for t in chain if t.version.version_number == 1][0]
        vm = system.vms_service().list(search="name=%s" % vm_name)[0]
        tpl = templates.add(types.Template(name=base_name, vm=types.Vm(id=vm.id), version=types.TemplateVersion(
            base_template=types.Template(id=base.id), version_name="version %d" % number)))
        _wait(templates.template_service(tpl.id).get, lambda t: t.status == types.TemplateStatus.OK)
    return step


def _portal_quota(dc, name, storage):
    """A quota with per-storage-domain limits, made in the Administration Portal. The REST API cannot make one:
    a quota added through it has an unlimited global storage limit, and the Engine refuses a domain limit next to
    a global one (QuotaValidator: "Limitation can not be configured as specific and general"); removing the global
    limit brings it back (QuotaCRUDCommand.fillQuotaParameter). The simulator's admin API stands in for the
    portal."""
    def step(runner):
        runner.sim.admin("POST", "quotas", {"data_center": dc, "name": name, "description": "My quota",
                                            "storage": storage})
    return step


def _cwd(runner):
    """The directory the entry's script runs in (sdk_examples.ExampleRunner.run)."""
    import os
    path = os.path.join(runner.workdir, "run", runner.entry["script"][:-3])
    os.makedirs(path, exist_ok=True)
    return path


def _qcow2(runner, name):
    import os
    import subprocess
    path = os.path.join(_cwd(runner), name)
    if not os.path.exists(path):
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", path, str(64 << 20)], check=True)
        subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 1M", "-c", "write -P 0x22 20M 2M", path],
                       check=True, capture_output=True)
    return path


def _image(name):
    """A qcow2 image (64 MiB virtual, 3 MiB of data) in the script's directory, for a user to upload."""
    return lambda runner: _qcow2(runner, name)


def _ova(name, member):
    """An OVA (tar: the OVF first, then a qcow2 disk) in the script's directory, as export_vm_as_ova.py makes."""
    def step(runner):
        import os
        import tarfile
        disk = _qcow2(runner, member)
        with tarfile.open(os.path.join(_cwd(runner), name), "w", format=tarfile.GNU_FORMAT) as tar:
            ovf = os.path.join(_cwd(runner), "vm.ovf")
            with open(ovf, "w") as f:
                f.write("<ovf:Envelope xmlns:ovf='http://schemas.dmtf.org/ovf/envelope/1'/>\n")
            tar.add(ovf, arcname="vm.ovf")
            tar.add(disk, arcname=member)
    return step


def _disk_snapshot(disk_name, vm_name, description):
    """The disk attached to a (new, down) VM that then takes a snapshot; ``{var:disk_snapshot}`` is the id of the
    disk's volume the snapshot froze."""
    def step(runner):
        system = runner.connection().system_service()
        disk = [d for d in system.disks_service().list() if d.alias == disk_name][0]
        vms = system.vms_service()
        found = vms.list(search="name=%s" % vm_name)
        vm = found[0] if found else vms.add(types.Vm(name=vm_name, cluster=types.Cluster(name="mycluster"),
                                                     template=types.Template(name="Blank"), memory=1 << 30))
        service = vms.vm_service(vm.id)
        _wait(service.get, lambda v: v.status == types.VmStatus.DOWN)
        atts = service.disk_attachments_service()
        if disk.id not in [a.disk.id for a in atts.list()]:
            atts.add(types.DiskAttachment(disk=types.Disk(id=disk.id), active=True,
                                          interface=types.DiskInterface.VIRTIO_SCSI))
        snaps = service.snapshots_service()
        snap = snaps.add(types.Snapshot(description=description))
        _wait(snaps.snapshot_service(snap.id).get, lambda s: s.snapshot_status == types.SnapshotStatus.OK)
        disk_service = system.disks_service().disk_service(disk.id)
        _wait(disk_service.get, lambda d: d.status == types.DiskStatus.OK)
        runner.vars["disk_snapshot"] = disk_service.disk_snapshots_service().list()[0].id
    return step


def _open_transfer(disk_name):
    """A download of the disk that a user started and left open; ``{var:transfer}`` is its id."""
    def step(runner):
        system = runner.connection().system_service()
        disk = [d for d in system.disks_service().list() if d.alias == disk_name][0]
        transfers = system.image_transfers_service()
        t = transfers.add(types.ImageTransfer(disk=types.Disk(id=disk.id), format=types.DiskFormat.RAW,
                                              direction=types.ImageTransferDirection.DOWNLOAD))
        _wait(transfers.image_transfer_service(t.id).get,
              lambda x: x.phase == types.ImageTransferPhase.TRANSFERRING)
        runner.vars["transfer"] = t.id
    return step


def _block_disk(name, sd_name):
    """A thin qcow2 disk on a block domain (what reduce_disk.py reduces)."""
    def step(runner):
        disks = runner.connection().system_service().disks_service()
        if not [d for d in disks.list() if d.alias == name]:
            d = disks.add(types.Disk(name=name, format=types.DiskFormat.COW, sparse=True, provisioned_size=1 << 30,
                                     storage_domains=[types.StorageDomain(name=sd_name)]))
            _wait(disks.disk_service(d.id).get, lambda x: x.status == types.DiskStatus.OK)
    return step


def _backup_vm(name):
    """A running VM in the Default cluster with a 64 MiB qcow2 disk whose backup mode is incremental and that the
    guest wrote to (the admin API's guest write, backups.py)."""
    def step(runner):
        system = runner.connection().system_service()
        vms = system.vms_service()
        if vms.list(search="name=%s" % name):
            return
        vm = vms.add(types.Vm(name=name, cluster=types.Cluster(name="Default"), template=types.Template(name="Blank"),
                              memory=1 << 30))
        service = vms.vm_service(vm.id)
        _wait(service.get, lambda v: v.status == types.VmStatus.DOWN)
        att = service.disk_attachments_service().add(types.DiskAttachment(
            disk=types.Disk(name="%s-disk" % name, format=types.DiskFormat.COW, provisioned_size=64 << 20,
                            storage_domains=[types.StorageDomain(name="data-nfs")],
                            backup=types.DiskBackup.INCREMENTAL),
            interface=types.DiskInterface.VIRTIO_SCSI, bootable=True, active=True))
        _wait(system.disks_service().disk_service(att.disk.id).get, lambda d: d.status == types.DiskStatus.OK)
        service.start()
        _wait(service.get, lambda v: v.status == types.VmStatus.UP)
        runner.sim.admin("POST", "vms/%s/disks/%s-disk/write" % (name, name),
                         {"offset": 0, "length": 4 << 20, "pattern": 0x31})
    return step


def _full_backup(name):
    """backup_vm.py's own ``full`` command, then a guest write; ``{var:checkpoint}`` is the checkpoint the full
    backup made (what an incremental backup starts from)."""
    def step(runner):
        system = runner.connection().system_service()
        vm = system.vms_service().list(search="name=%s" % name)[0]
        res = runner.run({"script": "backup_vm.py", "args": ["-c", "engine", "full", vm.id],
                          "expect": ["Full backup .* completed successfully"]})
        if not res["ok"]:
            raise RuntimeError("prepare: backup_vm.py full: %s\n%s" % (res["problem"], res["output"]))
        ckpts = system.vms_service().vm_service(vm.id).checkpoints_service().list()
        runner.vars["checkpoint"] = ckpts[-1].id
        runner.sim.admin("POST", "vms/%s/disks/%s-disk/write" % (name, name),
                         {"offset": 16 << 20, "length": 1 << 20, "pattern": 0x32})
    return step


def _root_checkpoint(name):
    """``{var:checkpoint}``: the VM's oldest checkpoint (what checkpoints.py's purge removes first)."""
    def step(runner):
        system = runner.connection().system_service()
        vm = system.vms_service().list(search="name=%s" % name)[0]
        ckpts = system.vms_service().vm_service(vm.id).checkpoints_service().list()
        runner.vars["checkpoint"] = [c for c in ckpts if c.parent_id is None][0].id
    return step


def _unregistered_vm(vm_name, sd_name, dc="mydc", cluster="mycluster", host="myhost", network="mynetwork"):
    """A data domain that another setup used (or this one before a disaster), imported and attached, with a VM in
    its OVF store that this Engine does not know: an administrator made the domain on an NFS export, a VM with a
    disk on it and a NIC on ``network``, then put the domain into maintenance (the OVF store is written), detached
    and removed it without formatting, and added the export again (the Engine imports the domain) and attached it.
    What register_vm.py registers."""
    def step(runner):
        import os
        system = runner.connection().system_service()
        sds = system.storage_domains_service()
        dcs = system.data_centers_service()
        dc_obj = dcs.list(search="name=%s" % dc)[0]
        attached = dcs.data_center_service(dc_obj.id).storage_domains_service()
        export = os.path.join(runner.workdir, "exports", sd_name)
        os.makedirs(export, exist_ok=True)
        storage = types.HostStorage(type=types.StorageType.NFS, address="nfs.example.test", path=export)

        def add_and_attach():
            sd = sds.add(types.StorageDomain(name=sd_name, type=types.StorageDomainType.DATA,
                                             host=types.Host(name=host), storage=storage))
            attached.add(types.StorageDomain(id=sd.id))
            _wait(attached.storage_domain_service(sd.id).get, lambda d: d.status == types.StorageDomainStatus.ACTIVE)
            return sd
        sd = add_and_attach()
        vms = system.vms_service()
        vm = vms.add(types.Vm(name=vm_name, cluster=types.Cluster(name=cluster), template=types.Template(name="Blank"),
                              memory=1 << 30))
        vm_service = vms.vm_service(vm.id)
        att = vm_service.disk_attachments_service().add(types.DiskAttachment(
            disk=types.Disk(name="%s_disk" % vm_name, format=types.DiskFormat.COW, provisioned_size=1 << 30,
                            storage_domains=[types.StorageDomain(id=sd.id)]),
            interface=types.DiskInterface.VIRTIO, bootable=True, active=True))
        profile = [p for p in system.vnic_profiles_service().list() if p.name == network][0]
        vm_service.nics_service().add(types.Nic(name="nic1", vnic_profile=types.VnicProfile(id=profile.id)))
        disks = system.disks_service()
        _wait(disks.disk_service(att.disk.id).get, lambda d: d.status == types.DiskStatus.OK)
        _wait(vm_service.get, lambda v: v.status == types.VmStatus.DOWN)
        attached.storage_domain_service(sd.id).deactivate()
        _wait(attached.storage_domain_service(sd.id).get, lambda d: d.status == types.StorageDomainStatus.MAINTENANCE)
        attached.storage_domain_service(sd.id).remove()
        sds.storage_domain_service(sd.id).remove(host=host)
        add_and_attach()
    return step


STEPS = {
    # register_vm.py registers "myvm" from the imported domain "mysd"
    "unregistered vm myvm on mysd": _unregistered_vm("myvm", "mysd"),
    # update_quota_limits.py replaces the "mydata" limit of "myquota" by a specific one: that works on a quota
    # with per-domain limits on more than that domain (with one, removing it leaves none and the Engine puts an
    # unlimited global limit back, which the specific one then conflicts with)
    "portal quota myquota": _portal_quota("mydc", "myquota", {"mydata": 50, "bs-scsi-012": 50}),
    "stop vms on myhost": _all_stopped("myhost"),
    "stop all vms": _all_stopped(),
    "remove vm myvm": _removed_vm("myvm"),
    "remove vm myclonedvm": _removed_vm("myclonedvm"),
    # extend_disk.py puts its disk on the block domain "bs-scsi-012" of the VM's data center
    "iscsi sd bs-scsi-012": _iscsi_domain("bs-scsi-012", "36001405bs0scsi0120000000000000a"),
    # add_vm_from_template_version.py looks for version 3 of "mytemplate"
    "template version mytemplate 2": _template_version("mytemplate", 2),
    "template version mytemplate 3": _template_version("mytemplate", 3),
    "vm myvm0": _vm("myvm0"),
    "vm myvm1": _vm("myvm1"),
    "vm myvm2": _vm("myvm2"),
    "vm myvm3": _vm("myvm3"),
    "user myuser@mydomain-authz": _user("myuser@mydomain-authz"),
    "user user2@internal-authz": _user("user2@internal-authz"),
    # add_iscsi_data_storage_domain.py names its domain "mydata" like the NFS example does; the Engine refuses a
    # second domain of that name, so the administrator renames the NFS one first.
    "rename sd mydata": _rename_sd("mydata", "mydata-nfs"),
    "stop myvm": _stopped("myvm"),
    "snapshot myvm mysnap": _snapshot("myvm", "mysnap"),
    # image transfers (transfers.py): files a user has and transfers a user left open
    "image upload.qcow2": _image("upload.qcow2"),
    "ova disk.ova": _ova("disk.ova", "disk1.qcow2"),
    "snapshot of upload.qcow2": _disk_snapshot("upload.qcow2", "xfervm", "before-download"),
    "open transfer of upload.qcow2": _open_transfer("upload.qcow2"),
    "block disk reduce-me": _block_disk("reduce-me", "bs-scsi-012"),
    # incremental backup (backups.py)
    "backup vm bkvm": _backup_vm("bkvm"),
    "full backup of bkvm": _full_backup("bkvm"),
    "root checkpoint of bkvm": _root_checkpoint("bkvm"),
}


def before(runner, entry):
    runner.entry = entry
    for name in entry.get("prepare", []) or []:
        STEPS[name](runner)
