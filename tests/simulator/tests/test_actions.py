# SPDX-License-Identifier: GPL-3.0-or-later
"""Actions and the state changes a client observes by polling, on the simulated clock."""

import json
import os
import subprocess

import ovirtsdk4 as sdk
from ovirtsdk4 import types
import pytest

from ovirt_engine_sim.testing import poll, wait_status


@pytest.fixture(scope="module")
def vm(system):
    added = system.vms_service().add(types.Vm(name="act01", cluster=types.Cluster(name="Default"),
                                              template=types.Template(name="centos9-template"),
                                              memory=2 * 2**30))
    svc = system.vms_service().vm_service(added.id)
    wait_status(svc, types.VmStatus.DOWN)
    return svc


def test_start_passes_through_powering_up(vm, engine_sim):
    engine_sim.set_clock(mode="manual")
    try:
        vm.start()
        assert vm.get().status in (types.VmStatus.WAIT_FOR_LAUNCH, types.VmStatus.POWERING_UP)
        engine_sim.advance(120)
        got = vm.get()
        assert got.status == types.VmStatus.UP and got.host is not None
    finally:
        engine_sim.set_clock(mode="free")


def test_reboot_suspend_resume_shutdown(vm):
    wait_status(vm, types.VmStatus.UP)
    vm.reboot()
    wait_status(vm, types.VmStatus.UP)
    vm.suspend()
    wait_status(vm, types.VmStatus.SUSPENDED)
    vm.start()
    wait_status(vm, types.VmStatus.UP)
    vm.shutdown()
    wait_status(vm, types.VmStatus.DOWN)
    vm.start()
    wait_status(vm, types.VmStatus.UP)


def test_migrate_moves_to_another_host(vm, system):
    before = vm.get().host.id
    vm.migrate()
    got = poll(vm.get, lambda v: v.status == types.VmStatus.UP and v.host.id != before)
    assert got.host.id != before
    events = system.events_service().list(search="type=63")
    assert any(e.vm and e.vm.id == got.id for e in events)


def test_stop_and_action_on_wrong_state_is_409(vm):
    wait_status(vm, types.VmStatus.UP)
    vm.stop()
    wait_status(vm, types.VmStatus.DOWN)
    with pytest.raises(sdk.Error) as err:
        vm.migrate()
    assert err.value.code == 409 and "not running" in str(err.value)


def test_snapshot_is_a_real_overlay(vm, engine_sim):
    snaps = vm.snapshots_service()
    assert [s.snapshot_type for s in snaps.list()] == [types.SnapshotType.ACTIVE]
    snap = snaps.add(types.Snapshot(description="before upgrade", persist_memorystate=False))
    ssvc = snaps.snapshot_service(snap.id)
    poll(ssvc.get, lambda s: s.snapshot_status == types.SnapshotStatus.OK)
    assert sorted(s.description for s in snaps.list()) == ["Active VM", "before upgrade"]
    disk = vm.disk_attachments_service().list()[0]
    images = [os.path.join(d, f) for d, _dirs, fs in os.walk(engine_sim.state_dir) for f in fs
              if d.find(disk.id) >= 0 or f.startswith(disk.id)]
    chains = [json.loads(subprocess.check_output(["qemu-img", "info", "--output=json", p])) for p in images
              if not p.endswith((".meta", ".lease", ".json"))]
    assert any(c.get("backing-filename") for c in chains), "snapshot did not create a qcow2 overlay: %s" % images
    ssvc.remove()
    poll(snaps.list, lambda items: len(items) == 1)


def test_template_from_vm(vm, system):
    tpl = system.templates_service().add(types.Template(name="act01-tpl", vm=types.Vm(id=vm.get().id)))
    tsvc = system.templates_service().template_service(tpl.id)
    poll(tsvc.get, lambda t: t.status == types.TemplateStatus.OK)
    clone = system.vms_service().add(types.Vm(name="from-tpl", cluster=types.Cluster(name="Default"),
                                              template=types.Template(name="act01-tpl")))
    csvc = system.vms_service().vm_service(clone.id)
    wait_status(csvc, types.VmStatus.DOWN)
    assert len(csvc.disk_attachments_service().list()) == 1
    csvc.remove()


def test_host_deactivate_migrates_vms_then_activate(system):
    vms = system.vms_service()
    host = system.hosts_service().list(search="name=host02")[0]
    hsvc = system.hosts_service().host_service(host.id)
    added = vms.add(types.Vm(name="mig01", cluster=types.Cluster(name="Default"),
                             template=types.Template(name="centos9-template")))
    vsvc = vms.vm_service(added.id)
    wait_status(vsvc, types.VmStatus.DOWN)
    vsvc.start(vm=types.Vm(placement_policy=types.VmPlacementPolicy(hosts=[types.Host(id=host.id)])))
    assert wait_status(vsvc, types.VmStatus.UP).host.id == host.id
    hsvc.deactivate()
    wait_status(hsvc, types.HostStatus.MAINTENANCE)
    moved = vsvc.get()
    assert moved.status == types.VmStatus.UP and moved.host.id != host.id
    hsvc.activate()
    wait_status(hsvc, types.HostStatus.UP)
    vsvc.stop()
    wait_status(vsvc, types.VmStatus.DOWN)
    vsvc.remove()


def test_vm_migrating_to_a_host_entering_maintenance_lands_and_moves_on(system, engine_sim):
    # Hosts of one patch batch are drained one right after the other: a VM already on its way to a host that
    # enters maintenance arrives there, then the Engine moves it on as part of that host's maintenance.
    vms = system.vms_service()
    hosts = dict((h.name, h) for h in system.hosts_service().list())
    added = vms.add(types.Vm(name="mig02", cluster=types.Cluster(name="Default"),
                             template=types.Template(name="centos9-template")))
    vsvc = vms.vm_service(added.id)
    wait_status(vsvc, types.VmStatus.DOWN)
    vsvc.start(vm=types.Vm(placement_policy=types.VmPlacementPolicy(hosts=[types.Host(id=hosts["host02"].id)])))
    wait_status(vsvc, types.VmStatus.UP)
    target = system.hosts_service().host_service(hosts["host03"].id)
    mark = int(system.events_service().list(max=1)[0].id)
    engine_sim.set_clock(mode="manual")
    try:
        vsvc.migrate(host=types.Host(id=hosts["host03"].id))
        target.deactivate()
        assert target.get().status == types.HostStatus.PREPARING_FOR_MAINTENANCE
        engine_sim.advance(120)
    finally:
        engine_sim.set_clock(mode="free")
    assert target.get().status == types.HostStatus.MAINTENANCE
    final = vsvc.get()
    assert final.status == types.VmStatus.UP and final.host.id != hosts["host03"].id
    mine = [e for e in system.events_service().list(from_=mark) if e.vm is not None and e.vm.id == added.id]
    assert not [e.description for e in mine if e.code == 65]
    landed = [e.description for e in sorted(mine, key=lambda e: int(e.id)) if e.code == 63]
    assert len(landed) == 2 and "Destination: host03" in landed[0], landed
    target.activate()
    wait_status(target, types.HostStatus.UP)
    vsvc.stop()
    wait_status(vsvc, types.VmStatus.DOWN)
    vsvc.remove()


def test_host_upgrade_timeline_and_events(system, engine_sim):
    host = system.hosts_service().list(search="name=host03")[0]
    engine_sim.admin("POST", "hosts/host03", {"update_available": True})
    hsvc = system.hosts_service().host_service(host.id)
    last = int(system.events_service().list(max=1)[0].id)
    hsvc.upgrade_check()
    poll(hsvc.get, lambda h: h.update_available)
    hsvc.deactivate()
    wait_status(hsvc, types.HostStatus.MAINTENANCE)
    hsvc.upgrade(reboot=True)
    poll(hsvc.get, lambda h: h.status == types.HostStatus.UP or h.status == types.HostStatus.MAINTENANCE and
         not h.update_available, timeout=60)
    codes = [e.code for e in system.events_service().list(from_=last) if e.host and e.host.id == host.id]
    assert 840 in codes and 842 in codes, codes
    assert not hsvc.get().update_available
    if hsvc.get().status == types.HostStatus.MAINTENANCE:
        hsvc.activate()
    wait_status(hsvc, types.HostStatus.UP)


def test_fence_status_checks_agent_credentials(system):
    host = system.hosts_service().list(search="name=host01")[0]
    hsvc = system.hosts_service().host_service(host.id)
    agents = hsvc.fence_agents_service()
    # The seed's simulated BMC for host01 answers at bmc-host01.example.test as admin/calvin.
    agent = agents.add(types.Agent(type="ipmilan", address="bmc-host01.example.test", username="admin",
                                   password="calvin", order=1))
    hsvc.update(types.Host(power_management=types.PowerManagement(enabled=True)))
    result = hsvc.fence(fence_type="status")
    assert result.status == types.PowerManagementStatus.ON
    agents.agent_service(agent.id).update(types.Agent(password="wrong"))
    with pytest.raises(sdk.Error) as err:
        hsvc.fence(fence_type="status")
    assert "bmc-host01.example.test" in str(err.value)
    assert system.events_service().list(max=1)[0].code == 497
    # The Engine refuses to remove the last agent while power management is enabled: disable it first.
    hsvc.update(types.Host(power_management=types.PowerManagement(enabled=False)))
    agents.agent_service(agent.id).remove()


def test_jobs_record_actions(system):
    jobs = system.jobs_service().list()
    assert jobs, "actions must create jobs"
    job = jobs[0]
    assert job.status in (types.JobStatus.FINISHED, types.JobStatus.STARTED, types.JobStatus.FAILED)
    steps = system.jobs_service().job_service(job.id).steps_service().list()
    assert steps and all(s.description for s in steps)
