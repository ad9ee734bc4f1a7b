# SPDX-License-Identifier: GPL-3.0-or-later
"""Stop the simulator and start it again on the same state dir: objects, ids, events, CA and clock remain."""

from ovirtsdk4 import types

from ovirt_engine_sim.testing import start_simulator

from ovirt_engine_sim.testing import wait_status


def test_restart_keeps_objects_ids_events_and_ca(tmp_path):
    state = str(tmp_path / "state")
    with start_simulator(state, time_scale=0.01) as sim:
        conn = sim.connection()
        system = conn.system_service()
        vm = system.vms_service().add(types.Vm(name="keep01", cluster=types.Cluster(name="Default"),
                                               template=types.Template(name="centos9-template"),
                                               description="survives restarts"))
        svc = system.vms_service().vm_service(vm.id)
        wait_status(svc, types.VmStatus.DOWN)
        svc.start()
        wait_status(svc, types.VmStatus.UP)
        svc.snapshots_service().add(types.Snapshot(description="snap-keep"))
        system.tags_service().add(types.Tag(name="keep"))
        before = {
            "vms": {v.id: (v.name, v.status) for v in system.vms_service().list()},
            "hosts": {h.id: h.name for h in system.hosts_service().list()},
            "disks": {d.id: d.provisioned_size for d in system.disks_service().list()},
            "tags": sorted(t.id for t in system.tags_service().list()),
            "events": [e.id for e in system.events_service().list()],
            "snapshots": sorted(s.id for s in svc.snapshots_service().list()),
        }
        ca = open(sim.ca_file, "rb").read()
        conn.close()
        assert sim.stop() == 0, "SIGTERM must stop the simulator cleanly"

    with start_simulator(state, time_scale=0.01) as again:
        assert open(again.ca_file, "rb").read() == ca, "the CA must not be regenerated"
        conn = again.connection()
        system = conn.system_service()
        after = {
            "vms": {v.id: (v.name, v.status) for v in system.vms_service().list()},
            "hosts": {h.id: h.name for h in system.hosts_service().list()},
            "disks": {d.id: d.provisioned_size for d in system.disks_service().list()},
            "tags": sorted(t.id for t in system.tags_service().list()),
            "events": [e.id for e in system.events_service().list()][-len(before["events"]):],
            "snapshots": sorted(s.id for s in system.vms_service().vm_service(vm.id).snapshots_service().list()),
        }
        assert after == before
        assert system.vms_service().vm_service(vm.id).get().description == "survives restarts"
        # New events continue the sequence instead of reusing ids.
        newest = int(system.events_service().list(max=1)[0].id)
        system.vms_service().vm_service(vm.id).stop()
        assert int(system.events_service().list(max=1)[0].id) > newest
        conn.close()


def test_image_folders_of_disks_never_acknowledged_are_removed_at_start(tmp_path):
    """A crash between writing a disk's image and committing its record leaves a folder no disk owns; the
    next start removes it and keeps every folder a stored disk owns."""
    import os
    import uuid

    from ovirt_engine_sim.testing import start_simulator
    state = str(tmp_path / "state")
    with start_simulator(state, time_scale=0.01) as sim:
        conn = sim.connection()
        sds = conn.system_service().storage_domains_service().list(search="name=data-nfs")
        disks = conn.system_service().disks_service().list()
        conn.close()
    images = os.path.join(state, "storage", sds[0].id, "images")
    kept = sorted(os.listdir(images))
    assert kept and all(d.id in kept or not os.path.isdir(os.path.join(images, d.id)) for d in disks)
    orphan = os.path.join(images, str(uuid.uuid4()))
    os.makedirs(orphan)
    with open(os.path.join(orphan, str(uuid.uuid4())), "wb") as f:
        f.write(b"\0" * 4096)
    with start_simulator(state, time_scale=0.01):
        pass
    assert not os.path.exists(orphan)
    assert sorted(os.listdir(images)) == kept
