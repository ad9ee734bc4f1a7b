# SPDX-License-Identifier: GPL-3.0-or-later
"""Incremental backup as a client of the real Engine sees it: checkpoints and backups over real qcow2 dirty
bitmaps, read back through image transfers and ovirt-imageio."""

import hashlib
import os
import subprocess

import ovirtsdk4 as sdk
from ovirtsdk4 import types
import pytest

from ovirt_engine_sim.testing import AdminError, poll, wait_status

MIB = 1 << 20
P = types.BackupPhase


def _vm(system, name, start=True, size=64 * MIB):
    """A VM with one small qcow2 disk whose backup mode is incremental."""
    vms = system.vms_service()
    vm = vms.add(types.Vm(name=name, cluster=types.Cluster(name="Default"), template=types.Template(name="Blank")))
    svc = vms.vm_service(vm.id)
    wait_status(svc, types.VmStatus.DOWN)
    att = svc.disk_attachments_service().add(types.DiskAttachment(
        disk=types.Disk(name="%s-disk" % name, format=types.DiskFormat.COW, provisioned_size=size,
                        storage_domains=[types.StorageDomain(name="data-nfs")], backup=types.DiskBackup.INCREMENTAL),
        interface=types.DiskInterface.VIRTIO_SCSI, bootable=True, active=True))
    wait_status(system.disks_service().disk_service(att.disk.id), types.DiskStatus.OK)
    if start:
        svc.start()
        wait_status(svc, types.VmStatus.UP)
    return svc, att.disk.id


def _backup(svc, disk_id, phase=P.READY, **kw):
    query = kw.pop("query", None)
    added = svc.backups_service().add(types.Backup(disks=[types.Disk(id=disk_id)], **kw), query=query)
    bsvc = svc.backups_service().backup_service(added.id)
    return bsvc, poll(bsvc.get, lambda b: b.phase == phase)


def _finalize(bsvc):
    bsvc.finalize()
    return poll(bsvc.get, lambda b: b.phase in (P.SUCCEEDED, P.FAILED))


def _write(sim, vm, disk, offset, length, pattern):
    return sim.admin("POST", "vms/%s/disks/%s-disk/write" % (vm, disk), {"offset": offset, "length": length,
                                                                         "pattern": pattern})


def _dirty(system, sim, disk_id, backup_id):
    """The dirty extents of a backup's disk as ovirt-imageio serves them to a backup application."""
    from ovirt_imageio.client import ImageioClient
    transfers = system.image_transfers_service()
    t = transfers.add(types.ImageTransfer(disk=types.Disk(id=disk_id), backup=types.Backup(id=backup_id),
                                          direction=types.ImageTransferDirection.DOWNLOAD,
                                          format=types.DiskFormat.RAW))
    tsvc = transfers.image_transfer_service(t.id)
    t = poll(tsvc.get, lambda x: x.phase == types.ImageTransferPhase.TRANSFERRING)
    with ImageioClient(t.transfer_url, cafile=sim.ca_file) as client:
        dirty = [(e.start, e.length) for e in client.extents("dirty") if e.dirty]
    return tsvc, dirty


def _close_transfer(tsvc):
    tsvc.finalize()
    poll(tsvc.get, lambda x: x.phase in (types.ImageTransferPhase.FINISHED_SUCCESS,
                                         types.ImageTransferPhase.FINISHED_FAILURE))


def _codes(system, since):
    return [e.code for e in system.events_service().list(from_=since)]


def _last_event(system):
    return int(system.events_service().list(max=1)[0].id)


def test_disk_backup_mode_is_set_on_add_and_refused_for_raw(system):
    disks = system.disks_service()
    sd = [types.StorageDomain(name="data-nfs")]
    with pytest.raises(sdk.Error) as err:
        disks.add(types.Disk(name="bk-raw-inc", format=types.DiskFormat.RAW, provisioned_size=MIB,
                             storage_domains=sd, backup=types.DiskBackup.INCREMENTAL))
    assert err.value.code == 409
    assert "Disk configuration (RAW Sparse backup-Incremental) is incompatible" in str(err.value)
    raw = disks.add(types.Disk(name="bk-raw", format=types.DiskFormat.RAW, provisioned_size=MIB, storage_domains=sd))
    assert raw.backup == types.DiskBackup.NONE
    wait_status(disks.disk_service(raw.id), types.DiskStatus.OK)
    with pytest.raises(sdk.Error) as err:
        disks.disk_service(raw.id).update(types.Disk(backup=types.DiskBackup.INCREMENTAL))
    assert err.value.code == 400
    assert "Incremental backup is not supported for RAW format disks" in str(err.value)
    cow = disks.add(types.Disk(name="bk-cow", format=types.DiskFormat.COW, provisioned_size=MIB, storage_domains=sd))
    wait_status(disks.disk_service(cow.id), types.DiskStatus.OK)
    assert disks.disk_service(cow.id).update(types.Disk(backup=types.DiskBackup.INCREMENTAL)).backup == \
        types.DiskBackup.INCREMENTAL
    # a VM from a template takes what the template's disk says (none, unless set)
    vm = system.vms_service().add(types.Vm(name="bk-fromtpl", cluster=types.Cluster(name="Default"),
                                           template=types.Template(name="centos9-template")))
    atts = system.vms_service().vm_service(vm.id).disk_attachments_service().list()
    assert [disks.disk_service(a.disk.id).get().backup for a in atts] == [types.DiskBackup.NONE]


def test_full_backup_of_a_running_vm_uses_a_snapshot_and_makes_a_checkpoint(system, engine_sim):
    svc, disk_id = _vm(system, "bk-full")
    since = _last_event(system)
    added = svc.backups_service().add(types.Backup(disks=[types.Disk(id=disk_id)], description="nightly"))
    assert added.phase == P.INITIALIZING and added.to_checkpoint_id is None
    bsvc = svc.backups_service().backup_service(added.id)
    seen = set()
    ready = poll(bsvc.get, lambda b: seen.add(b.phase) or b.phase == P.READY)
    assert P.STARTING in seen or P.INITIALIZING in seen
    assert ready.to_checkpoint_id and ready.from_checkpoint_id is None
    assert [d.backup_mode for d in bsvc.disks_service().list()] == [types.DiskBackupMode.FULL]
    snaps = svc.snapshots_service().list()
    assert "Auto-generated for Backup VM" in [s.description for s in snaps]
    # while it runs: a second backup, a stop, a migration and a checkpoint removal are refused
    with pytest.raises(sdk.Error) as err:
        svc.backups_service().add(types.Backup(disks=[types.Disk(id=disk_id)]))
    assert err.value.code == 409 and "The VM is during a backup operation" in str(err.value)
    for call, text in ((svc.stop, "Cannot stop VM"), (svc.migrate, "Cannot migrate VM")):
        with pytest.raises(sdk.Error) as err:
            call()
        assert err.value.code == 409 and text in str(err.value)
    done = _finalize(bsvc)
    assert done.phase == P.SUCCEEDED
    assert "Auto-generated for Backup VM" not in [s.description for s in svc.snapshots_service().list()]
    ckpts = svc.checkpoints_service().list()
    assert [(c.id, c.parent_id, c.state) for c in ckpts] == [(ready.to_checkpoint_id, None,
                                                              types.CheckpointState.CREATED)]
    assert [d.id for d in svc.checkpoints_service().checkpoint_service(ckpts[0].id).disks_service().list()] == \
        [disk_id]
    codes = _codes(system, since)
    assert {10790, 10794, 10793, 45, 68, 342} <= set(codes)
    jobs = system.jobs_service().list(search="description=\"Backing up VM bk-full\"")
    assert jobs and jobs[0].status == types.JobStatus.FINISHED
    svc.stop()


def test_incremental_backup_exports_exactly_what_the_guest_wrote(system, engine_sim):
    svc, disk_id = _vm(system, "bk-inc")
    _write(engine_sim, "bk-inc", "bk-inc", 0, 4 * MIB, 1)
    bsvc, full = _backup(svc, disk_id)
    assert _finalize(bsvc).phase == P.SUCCEEDED
    _write(engine_sim, "bk-inc", "bk-inc", 8 * MIB, 64 * 1024, 2)
    _write(engine_sim, "bk-inc", "bk-inc", 20 * MIB, 2 * MIB, 3)
    bsvc, inc = _backup(svc, disk_id, from_checkpoint_id=full.to_checkpoint_id)
    assert [d.backup_mode for d in bsvc.disks_service().list()] == [types.DiskBackupMode.INCREMENTAL]
    tsvc, dirty = _dirty(system, engine_sim, disk_id, inc.id)
    assert dirty == [(8 * MIB, 64 * 1024), (20 * MIB, 2 * MIB)]
    # finalize waits for the backup's transfers (StopVmBackupCommand)
    with pytest.raises(sdk.Error) as err:
        bsvc.finalize()
    assert err.value.code == 409 and "There is an active image transfer for VM backup" in str(err.value)
    _close_transfer(tsvc)
    assert _finalize(bsvc).phase == P.SUCCEEDED
    # across a user snapshot the checkpoints keep tracking on the new top volume
    snap = svc.snapshots_service().add(types.Snapshot(description="user"))
    poll(svc.snapshots_service().snapshot_service(snap.id).get,
         lambda s: s.snapshot_status == types.SnapshotStatus.OK)
    _write(engine_sim, "bk-inc", "bk-inc", 32 * MIB, MIB, 4)
    bsvc, inc2 = _backup(svc, disk_id, from_checkpoint_id=inc.to_checkpoint_id)
    tsvc, dirty = _dirty(system, engine_sim, disk_id, inc2.id)
    assert dirty == [(32 * MIB, MIB)]
    _close_transfer(tsvc)
    assert _finalize(bsvc).phase == P.SUCCEEDED
    # from the first checkpoint: everything since the full backup
    bsvc, inc3 = _backup(svc, disk_id, from_checkpoint_id=full.to_checkpoint_id)
    tsvc, dirty = _dirty(system, engine_sim, disk_id, inc3.id)
    assert dirty == [(8 * MIB, 64 * 1024), (20 * MIB, 2 * MIB), (32 * MIB, MIB)]
    _close_transfer(tsvc)
    _finalize(bsvc)
    chain = [c.parent_id for c in svc.checkpoints_service().list()]
    assert chain == [None, full.to_checkpoint_id, inc.to_checkpoint_id, inc2.to_checkpoint_id]
    svc.stop()


def test_checksum_follows_guest_writes_and_matches_qemu_img_convert(system, engine_sim, tmp_path):
    svc, disk_id = _vm(system, "bk-sum", start=False)
    before = engine_sim.admin("GET", "vms/bk-sum/disks/bk-sum-disk/checksum")
    assert before["sha256"] == hashlib.sha256(bytes(64 * MIB)).hexdigest() and before["virtual_size"] == 64 * MIB
    _write(engine_sim, "bk-sum", "bk-sum", 3 * MIB + 512, 5000, 0xA5)
    after = engine_sim.admin("GET", "vms/bk-sum/disks/bk-sum-disk/checksum")
    assert after["sha256"] != before["sha256"]
    disk = system.disks_service().disk_service(disk_id).get()
    path = os.path.join(engine_sim.state_dir, "storage", disk.storage_domains[0].id, "images", disk_id, disk.image_id)
    raw = str(tmp_path / "guest.raw")
    subprocess.run(["qemu-img", "convert", "-U", "-O", "raw", path, raw], check=True)
    with open(raw, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == after["sha256"]
    with pytest.raises(AdminError, match="400"):
        _write(engine_sim, "bk-sum", "bk-sum", 64 * MIB, 1, 1)


def test_legacy_backup_shows_scratch_disks(system, engine_sim):
    svc, disk_id = _vm(system, "bk-legacy")
    bsvc, ready = _backup(svc, disk_id, query={"legacy": "true"})
    scratch = [d for d in system.disks_service().list() if d.content_type == types.DiskContentType.BACKUP_SCRATCH]
    assert [d.alias for d in scratch] == ["VM bk-legacy backup %s scratch disk for bk-legacy-disk" % ready.id]
    assert "Auto-generated for Backup VM" not in [s.description for s in svc.snapshots_service().list()]
    assert _finalize(bsvc).phase == P.SUCCEEDED
    assert not [d for d in system.disks_service().list() if d.content_type == types.DiskContentType.BACKUP_SCRATCH]
    svc.stop()


def test_cold_backup_of_a_down_vm_and_what_it_refuses(system, engine_sim):
    svc, disk_id = _vm(system, "bk-cold", start=False)
    bsvc, ready = _backup(svc, disk_id)
    assert ready.host is None
    assert [s.description for s in svc.snapshots_service().list()] == ["Active VM"]
    with pytest.raises(sdk.Error) as err:
        svc.start()
    assert err.value.code == 409 and "Cannot run VM. The VM is during a backup operation." in str(err.value)
    with pytest.raises(sdk.Error) as err:
        svc.remove()
    assert "Cannot remove VM. The VM is during a backup operation." in str(err.value)
    with pytest.raises(AdminError, match="409"):
        _write(engine_sim, "bk-cold", "bk-cold", 0, 512, 1)
    assert _finalize(bsvc).phase == P.SUCCEEDED
    with pytest.raises(sdk.Error) as err:       # finalize again: nothing left to stop
        svc.backups_service().backup_service("00000000-0000-0000-0000-00000000beef").finalize()
    assert err.value.code == 400
    assert len(svc.checkpoints_service().list()) == 1


def test_unknown_checkpoint_is_refused(system):
    svc, disk_id = _vm(system, "bk-unknown", start=False)
    with pytest.raises(sdk.Error) as err:
        svc.backups_service().add(types.Backup(disks=[types.Disk(id=disk_id)],
                                               from_checkpoint_id="00000000-0000-0000-0000-0000000000c1"))
    assert err.value.code == 400
    assert "Cannot backup VM. Checkpoint ID 00000000-0000-0000-0000-0000000000c1 doesn't exist." in str(err.value)
    with pytest.raises(sdk.Error) as err:
        svc.backups_service().add(types.Backup(disks=[types.Disk(id="00000000-0000-0000-0000-0000000000d1")]))
    assert err.value.code == 400 and "does not exist" in str(err.value)


def test_checkpoint_removal_reparents_the_child(system, engine_sim):
    svc, disk_id = _vm(system, "bk-ckpt", start=False)
    ids = []
    for _round in range(3):
        bsvc, ready = _backup(svc, disk_id, from_checkpoint_id=ids[-1] if ids else None)
        _finalize(bsvc)
        ids.append(ready.to_checkpoint_id)
    ckpts = svc.checkpoints_service()
    assert [(c.id, c.parent_id) for c in ckpts.list()] == [(ids[0], None), (ids[1], ids[0]), (ids[2], ids[1])]
    since = _last_event(system)
    ckpts.checkpoint_service(ids[0]).remove()     # the oldest, as checkpoints.py purges
    assert [(c.id, c.parent_id) for c in ckpts.list()] == [(ids[1], None), (ids[2], ids[1])]
    assert 10797 in _codes(system, since)
    with pytest.raises(sdk.Error) as err:        # its bitmaps are gone: no incremental from it
        svc.backups_service().add(types.Backup(disks=[types.Disk(id=disk_id)], from_checkpoint_id=ids[0]))
    assert "doesn't exist" in str(err.value)
    bsvc, ready = _backup(svc, disk_id)
    with pytest.raises(sdk.Error) as err:
        ckpts.checkpoint_service(ids[1]).remove()
    assert "Cannot remove checkpoint. The VM is during a backup operation." in str(err.value)
    _finalize(bsvc)


def test_snapshot_restore_drops_every_checkpoint(system, engine_sim):
    svc, disk_id = _vm(system, "bk-restore", start=False)
    snap = svc.snapshots_service().add(types.Snapshot(description="before"))
    poll(svc.snapshots_service().snapshot_service(snap.id).get,
         lambda s: s.snapshot_status == types.SnapshotStatus.OK)
    bsvc, ready = _backup(svc, disk_id)
    _finalize(bsvc)
    assert len(svc.checkpoints_service().list()) == 1
    svc.snapshots_service().snapshot_service(snap.id).restore()
    wait_status(svc, types.VmStatus.DOWN)
    poll(svc.checkpoints_service().list, lambda c: c == [])
    with pytest.raises(sdk.Error) as err:
        _backup(svc, disk_id, from_checkpoint_id=ready.to_checkpoint_id)
    assert "doesn't exist" in str(err.value)
    bsvc, full = _backup(svc, disk_id)
    assert [d.backup_mode for d in bsvc.disks_service().list()] == [types.DiskBackupMode.FULL]
    _finalize(bsvc)


@pytest.mark.parametrize("phase", ["starting", "finalizing"])
def test_backup_failure_fault_fails_the_backup_and_cleans_up(system, engine_sim, phase):
    name = "bk-fail-%s" % phase[:5]
    svc, disk_id = _vm(system, name)
    engine_sim.inject({"kind": "backup_failure", "target": name, "phase": phase})
    since = _last_event(system)
    added = svc.backups_service().add(types.Backup(disks=[types.Disk(id=disk_id)]))
    bsvc = svc.backups_service().backup_service(added.id)
    if phase == "finalizing":
        poll(bsvc.get, lambda b: b.phase == P.READY)
        bsvc.finalize()
    failed = poll(bsvc.get, lambda b: b.phase == P.FAILED)
    assert failed.phase == P.FAILED
    assert 10792 in _codes(system, since)
    assert [s.description for s in svc.snapshots_service().list()] == ["Active VM"]
    disk = system.disks_service().disk_service(disk_id).get()
    assert disk.status == types.DiskStatus.OK
    assert len(svc.checkpoints_service().list()) == (1 if phase == "finalizing" else 0)
    svc.stop()                                    # nothing is left locked
    wait_status(svc, types.VmStatus.DOWN)


def test_checkpoint_lost_fault_forces_a_full_backup(system, engine_sim):
    svc, disk_id = _vm(system, "bk-lost")
    bsvc, full = _backup(svc, disk_id)
    _finalize(bsvc)
    engine_sim.inject({"kind": "checkpoint_lost", "target": "bk-lost"})
    assert svc.checkpoints_service().list() == []
    with pytest.raises(sdk.Error) as err:
        svc.backups_service().add(types.Backup(disks=[types.Disk(id=disk_id)],
                                               from_checkpoint_id=full.to_checkpoint_id))
    assert err.value.code == 400 and "doesn't exist" in str(err.value)
    _write(engine_sim, "bk-lost", "bk-lost", MIB, MIB, 5)
    bsvc, again = _backup(svc, disk_id)
    assert [d.backup_mode for d in bsvc.disks_service().list()] == [types.DiskBackupMode.FULL]
    _finalize(bsvc)
    assert [c.parent_id for c in svc.checkpoints_service().list()] == [None]
    svc.stop()


def test_ovf_round_trip_recreates_the_vm_with_its_nics_and_attaches_existing_disks(system):
    svc, disk_id = _vm(system, "bk-ovf", start=False)
    nic = svc.nics_service().add(types.Nic(name="nic1", vnic_profile=types.VnicProfile(
        id=system.vnic_profiles_service().list()[0].id)))
    full = svc.get(all_content=True)
    ovf = full.initialization.configuration.data
    assert full.initialization.configuration.type == types.ConfigurationType.OVF
    assert 'ovf:fileRef="%s/' % disk_id in ovf and 'ovf:boot="true"' in ovf
    assert 'ovf:provisioned-size="%d"' % (64 * MIB) in ovf and 'ovf:disk-interface="VirtIO_SCSI"' in ovf
    assert 'ovf:incremental-backup="true"' in ovf and 'ovf:volume-format="COW"' in ovf
    assert "<rasd:MACAddress>%s</rasd:MACAddress>" % nic.mac.address in ovf and "<rasd:Name>nic1</rasd:Name>" in ovf
    config = types.Initialization(configuration=types.Configuration(type=types.ConfigurationType.OVF, data=ovf))
    with pytest.raises(sdk.Error) as err:          # the original still exists: same identity
        system.vms_service().add(types.Vm(name="bk-ovf-copy", cluster=types.Cluster(name="Default"),
                                          initialization=config))
    assert "VM with the same identifier already exists" in str(err.value)
    svc.remove(detach_only=True)                   # the VM goes, its disk stays (as after a restore upload)
    since = _last_event(system)
    back = system.vms_service().add(types.Vm(name="bk-ovf-restored", cluster=types.Cluster(name="Default"),
                                             initialization=config))
    assert back.id == full.id and back.name == "bk-ovf-restored" and back.status == types.VmStatus.DOWN
    assert back.memory == full.memory
    rsvc = system.vms_service().vm_service(back.id)
    nics = rsvc.nics_service().list()
    expected = [("nic1", nic.mac.address, nic.vnic_profile.id)]
    assert [(n.name, n.mac.address, n.vnic_profile.id) for n in nics] == expected
    atts = rsvc.disk_attachments_service().list()
    assert [(a.disk.id, a.bootable, a.interface) for a in atts] == [(disk_id, True,
                                                                     types.DiskInterface.VIRTIO_SCSI)]
    assert 174 in _codes(system, since)
    # disks that do not exist are not created: the VM comes without them (event 175)
    rsvc.remove()
    since = _last_event(system)
    again = system.vms_service().add(types.Vm(cluster=types.Cluster(name="Default"), initialization=config))
    assert again.name == "bk-ovf" and system.vms_service().vm_service(again.id).disk_attachments_service().list() == []
    assert 175 in _codes(system, since)


def test_restart_keeps_finished_backups_and_fails_one_stuck_mid_phase(tmp_path):
    """Backups and checkpoints survive a restart; a backup a crash left mid-phase (no timer carries it on) is failed
    at start (10814, VM_BACKUP_FAILED_UNMONITORED) and its overlay is merged back."""
    from ovirt_engine_sim.engine import Engine
    state = str(tmp_path / "state")
    e = Engine(state, clock_mode="manual")
    with e.lock:
        vm = e.add_vms(None, types.Vm(name="bk-crash", cluster=types.Cluster(name="Default"),
                                      template=types.Template(name="Blank")), {})
        e.advance(10)
        att = e.add_vm_disk_attachments(vm.id, types.DiskAttachment(
            disk=types.Disk(name="bk-crash-disk", format=types.DiskFormat.COW, provisioned_size=MIB,
                            storage_domains=[types.StorageDomain(name="data-nfs")],
                            backup=types.DiskBackup.INCREMENTAL),
            interface=types.DiskInterface.VIRTIO, bootable=True), {})
        e.advance(10)
        base = e.disk_path(att.disk.id)
        ready = e.add_vm_backups(vm.id, types.Backup(disks=[types.Disk(id=att.disk.id)]), {})
        e.advance(5)
        assert e.store.get("vm_backups", ready.id).phase == P.READY
        e.action_vm_backups_finalize(vm.id, ready.id, types.Action(), {})
        e.advance(5)
        stuck = e.add_vm_backups(vm.id, types.Backup(disks=[types.Disk(id=att.disk.id)]), {})
        assert e.disk_path(att.disk.id) != base
        e.cancel_timers("backup_step", backup=stuck.id)     # the crash: nothing will carry it on
        e.persist(force=True)
        e.store.close()
    again = Engine(state, clock_mode="manual")
    assert again.recovered_backups == [stuck.id]
    assert again.store.get("vm_backups", stuck.id).phase == P.FAILED
    assert 10814 in [ev.code for ev in again.store.list("events")]
    assert again.store.get("vm_backups", ready.id).phase == P.SUCCEEDED
    assert again.disk_path(att.disk.id) == base and again.store.x("disks", att.disk.id)["chain"] == [base]
    assert [c.id for c in again.store.list("vm_checkpoints", vm.id)] == [
        again.store.get("vm_backups", ready.id).to_checkpoint_id]
    again.store.close()


def test_a_disk_the_checkpoint_does_not_cover_gets_a_full_backup(system):
    svc, first = _vm(system, "bk-mixed", start=False)
    att = svc.disk_attachments_service().add(types.DiskAttachment(
        disk=types.Disk(name="bk-mixed-2", format=types.DiskFormat.COW, provisioned_size=MIB,
                        storage_domains=[types.StorageDomain(name="data-nfs")], backup=types.DiskBackup.INCREMENTAL),
        interface=types.DiskInterface.VIRTIO_SCSI, active=True))
    wait_status(system.disks_service().disk_service(att.disk.id), types.DiskStatus.OK)
    bsvc, full = _backup(svc, first)
    _finalize(bsvc)
    both = [types.Disk(id=first), types.Disk(id=att.disk.id)]
    added = svc.backups_service().add(types.Backup(disks=both, from_checkpoint_id=full.to_checkpoint_id))
    bsvc = svc.backups_service().backup_service(added.id)
    poll(bsvc.get, lambda b: b.phase == P.READY)
    modes = dict((d.id, d.backup_mode) for d in bsvc.disks_service().list())
    assert modes == {first: types.DiskBackupMode.INCREMENTAL, att.disk.id: types.DiskBackupMode.FULL}
    ready = _finalize(bsvc)
    ckpt = svc.checkpoints_service().checkpoint_service(ready.to_checkpoint_id)
    assert sorted(d.id for d in ckpt.disks_service().list()) == sorted([first, att.disk.id])
