# SPDX-License-Identifier: GPL-3.0-or-later
"""VMs, NICs, snapshots and templates as a client of the real Engine sees them."""

import ovirtsdk4 as sdk
from ovirtsdk4 import types
import pytest

from ovirt_engine_sim.testing import poll, wait_status


def _vm(system, name, template="centos9-template"):
    added = system.vms_service().add(types.Vm(name=name, cluster=types.Cluster(name="Default"),
                                              template=types.Template(name=template), memory=2**30))
    svc = system.vms_service().vm_service(added.id)
    wait_status(svc, types.VmStatus.DOWN)
    return svc


def _snap_ok(snaps, snap_id):
    poll(lambda: snaps.snapshot_service(snap_id).get(),
         lambda s: s.snapshot_status == types.SnapshotStatus.OK)


def test_templates_searchable_by_datacenter_and_by_vm_name(system):
    """ovirt_vm looks a template up with ``name=T and datacenter=DC`` and, for an existing VM, ``vm.name=V``."""
    _vm(system, "fid-tpl01")
    templates = system.templates_service()
    found = templates.list(search="name=centos9-template and datacenter=Default")
    assert [t.name for t in found] == ["centos9-template"]
    assert templates.list(search="name=centos9-template and datacenter=NoSuchDc") == []
    assert [t.name for t in templates.list(search="vm.name=fid-tpl01")] == ["centos9-template"]


def test_new_vm_reports_console_and_a_spice_console(system):
    vm = _vm(system, "fid-con01")
    got = system.vms_service().list(search="name=fid-con01", all_content=True)[0]
    assert got.console is not None and got.console.enabled is False
    consoles = vm.graphics_consoles_service()
    assert [c.protocol for c in consoles.list()] == [types.GraphicsType.SPICE]
    consoles.add(types.GraphicsConsole(protocol=types.GraphicsType.VNC))
    assert sorted(c.protocol.value for c in consoles.list()) == ["spice", "vnc"]
    with pytest.raises(sdk.Error) as err:
        consoles.add(types.GraphicsConsole(protocol=types.GraphicsType.VNC))
    assert err.value.code == 409
    # The OVF configuration comes with all_content.
    assert "<ovf:Envelope" in got.initialization.configuration.data


def test_snapshot_disks_and_restore_brings_back_the_old_state(system):
    vm = _vm(system, "fid-snap01")
    snaps = vm.snapshots_service()
    first = snaps.add(types.Snapshot(description="before"))
    _snap_ok(snaps, first.id)
    disks = snaps.snapshot_service(first.id).disks_service().list()
    assert [d.alias for d in disks] == ["centos9-template_Disk1"]
    second = snaps.add(types.Snapshot(description="after"))
    _snap_ok(snaps, second.id)
    vm.update(types.Vm(description="changed after the snapshots"))

    vm.start()
    with pytest.raises(sdk.Error) as err:
        snaps.snapshot_service(first.id).restore()
    assert err.value.code == 409
    vm.stop()
    wait_status(vm, types.VmStatus.DOWN)

    snaps.snapshot_service(first.id).restore()
    assert vm.get().status == types.VmStatus.IMAGE_LOCKED
    _snap_ok(snaps, first.id)
    wait_status(vm, types.VmStatus.DOWN)
    left = sorted(s.description for s in snaps.list())
    assert left == ["Active VM", "before"]          # the later snapshot is gone with the commit
    assert vm.get().description == ""


def test_preview_then_undo_keeps_every_snapshot(system):
    vm = _vm(system, "fid-snap02")
    snaps = vm.snapshots_service()
    snap = snaps.add(types.Snapshot(description="s1"))
    _snap_ok(snaps, snap.id)
    vm.preview_snapshot(snapshot=types.Snapshot(id=snap.id), restore_memory=False)
    assert snaps.snapshot_service(snap.id).get().snapshot_status == types.SnapshotStatus.IN_PREVIEW
    wait_status(vm, types.VmStatus.DOWN)
    with pytest.raises(sdk.Error) as err:
        snaps.add(types.Snapshot(description="during preview"))
    assert err.value.code == 409
    vm.undo_snapshot()
    assert sorted(s.description for s in snaps.list()) == ["Active VM", "s1"]
    assert snaps.snapshot_service(snap.id).get().snapshot_status == types.SnapshotStatus.OK
    with pytest.raises(sdk.Error):
        vm.commit_snapshot()  # nothing in preview


def test_nic_deactivate_activate(system):
    vm = _vm(system, "fid-nic01")
    nics = vm.nics_service()
    nic = nics.list()[0]
    nics.nic_service(nic.id).deactivate()
    assert nics.nic_service(nic.id).get().plugged is False
    nics.nic_service(nic.id).activate()
    assert nics.nic_service(nic.id).get().plugged is True


def test_duplicate_mac_refused_in_the_default_pool(system):
    a = _vm(system, "fid-mac01")
    b = _vm(system, "fid-mac02")
    mac = a.nics_service().list()[0].mac.address
    with pytest.raises(sdk.Error) as err:
        b.nics_service().add(types.Nic(name="dup", mac=types.Mac(address=mac)))
    assert err.value.code == 409 and "already in use" in str(err.value)


def test_cluster_change_needs_the_vm_down(system):
    vm = _vm(system, "fid-cl01")
    vm.start()
    with pytest.raises(sdk.Error) as err:
        vm.update(types.Vm(cluster=types.Cluster(name="NoSuchCluster")))
    assert err.value.code == 404
    other = system.clusters_service().add(types.Cluster(
        name="fid-other", data_center=types.DataCenter(name="Default"), cpu=types.Cpu(type="Intel Icelake Server Family")))
    with pytest.raises(sdk.Error) as err:
        vm.update(types.Vm(cluster=types.Cluster(id=other.id)))
    assert err.value.code == 409
    vm.stop()


def test_vm_pool_creates_its_vms_and_prestarts(system):
    pools = system.vm_pools_service()
    pool = pools.add(types.VmPool(name="fidpool", cluster=types.Cluster(name="Default"),
                                  template=types.Template(name="centos9-template"), size=3, prestarted_vms=1))
    vms = system.vms_service()
    members = vms.list(search="pool=fidpool")
    assert sorted(v.name for v in members) == ["fidpool-1", "fidpool-2", "fidpool-3"]
    assert all(v.stateless for v in members)
    poll(lambda: vms.list(search="pool=fidpool and status=up"), lambda up: len(up) == 1, timeout=60)
    with pytest.raises(sdk.Error) as err:
        vms.vm_service(members[0].id).remove()
    assert err.value.code == 409
    with pytest.raises(sdk.Error) as err:
        pools.pool_service(pool.id).update(types.VmPool(size=2))
    assert err.value.code == 409
    with pytest.raises(sdk.Error) as err:
        pools.pool_service(pool.id).remove()  # a VM is up
    assert err.value.code == 409
    for v in vms.list(search="pool=fidpool and status=up"):
        vms.vm_service(v.id).stop()
    pools.pool_service(pool.id).remove()
    assert vms.list(search="pool=fidpool") == []


def test_instance_type_add_update_remove(system):
    its = system.instance_types_service()
    it = its.add(types.InstanceType(name="fid-it", memory=2 * 2**30, high_availability=types.HighAvailability(
        enabled=True), cpu=types.Cpu(topology=types.CpuTopology(cores=2, sockets=2))))
    got = its.instance_type_service(it.id).get()
    assert got.memory == 2 * 2**30 and got.cpu.topology.cores == 2 and got.high_availability.enabled
    with pytest.raises(sdk.Error) as err:
        its.add(types.InstanceType(name="fid-it"))
    assert err.value.code == 409
    its.instance_type_service(it.id).update(types.InstanceType(memory=4 * 2**30,
                                                               memory_policy=types.MemoryPolicy(max=8 * 2**30)))
    assert its.instance_type_service(it.id).get().memory == 4 * 2**30
    assert [i.name for i in its.list(search="name=fid-it")] == ["fid-it"]
    its.instance_type_service(it.id).remove()
    assert its.list(search="name=fid-it") == []
