# SPDX-License-Identifier: GPL-3.0-or-later
"""Two sites (issue 14): the dr-primary and dr-secondary seeds on two simulators, storage replication between them
(``/sim/replication``) and the Engine side of failover through the real SDK: importing the replicated domain,
attaching it, listing and registering unregistered templates and VMs with mappings, the Engine's refusals, drills
on a snapshot of the replica and failback."""

import os

import ovirtsdk4
import pytest
from ovirtsdk4 import types

from ovirt_engine_sim.testing import start_simulator, wait_status


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    root = tmp_path_factory.mktemp("dr")
    primary = start_simulator(str(root / "east"), seed="dr-primary", clock="manual")
    secondary = start_simulator(str(root / "west"), seed="dr-secondary", clock="manual")
    yield primary, secondary, root
    primary.stop()
    secondary.stop()


def _sys(sim):
    conn = sim.connection()
    return conn, conn.system_service()


def _advance(sim, seconds):
    sim.advance(seconds)


def _import(sim, system, path, name="dr-data"):
    """What sre.ovirt.storage_domain_import does: add the file domain on the replica's export, attach, wait."""
    host = system.hosts_service().list(search="name=west01")[0]
    sds = system.storage_domains_service()
    sd = sds.add(types.StorageDomain(name=name, type=types.StorageDomainType.DATA, host=types.Host(id=host.id),
                                     storage=types.HostStorage(type=types.StorageType.NFS,
                                                               address="nfs-west.example.test", path=path)))
    dc = system.data_centers_service().list(search="name=dc-west")[0]
    attached = system.data_centers_service().data_center_service(dc.id).storage_domains_service()
    attached.add(types.StorageDomain(id=sd.id))
    _advance(sim, 15)
    wait_status(attached.storage_domain_service(sd.id), types.StorageDomainStatus.ACTIVE)
    return sd


def _mappings(system_w, **extra):
    prof = system_w.vnic_profiles_service().list()
    app_west = [p for p in prof if p.name == "app-west"][0]
    mgmt = [p for p in prof if p.name == "ovirtmgmt"][0]
    conf = types.RegistrationConfiguration(
        cluster_mappings=[types.RegistrationClusterMapping(from_=types.Cluster(name="east"),
                                                           to=types.Cluster(name="west"))],
        vnic_profile_mappings=[
            types.RegistrationVnicProfileMapping(from_=types.VnicProfile(name="app", network=types.Network(name="app")),
                                                 to=types.VnicProfile(id=app_west.id)),
            types.RegistrationVnicProfileMapping(
                from_=types.VnicProfile(name="ovirtmgmt", network=types.Network(name="ovirtmgmt")),
                to=types.VnicProfile(id=mgmt.id))],
        affinity_group_mappings=[types.RegistrationAffinityGroupMapping(from_=types.AffinityGroup(name="web-spread"),
                                                                        to=types.AffinityGroup(name="web-spread"))],
        affinity_label_mappings=[types.RegistrationAffinityLabelMapping(from_=types.AffinityLabel(name="tier-web"),
                                                                        to=types.AffinityLabel(name="tier-web"))],
        **extra)
    return conf


def test_seeds_are_two_distinct_sites(sites):
    primary, secondary, _root = sites
    conn_e, east = _sys(primary)
    conn_w, west = _sys(secondary)
    try:
        ids_e = {o.id for o in east.networks_service().list() + east.clusters_service().list() +
                 east.hosts_service().list() + east.storage_domains_service().list()}
        ids_w = {o.id for o in west.networks_service().list() + west.clusters_service().list() +
                 west.hosts_service().list() + west.storage_domains_service().list()}
        assert not ids_e & ids_w
        vms = {v.name: v for v in east.vms_service().list()}
        assert {"web01", "web02", "db01", "app01", "tools01", "batch01"} <= set(vms)
        assert vms["web01"].high_availability.enabled and vms["web01"].high_availability.priority == 100
        assert vms["db01"].status == types.VmStatus.UP and not vms["tools01"].high_availability.enabled
        disks = east.vms_service().vm_service(vms["web01"].id).disk_attachments_service().list()
        disk = east.disks_service().disk_service(disks[0].disk.id).get()
        assert disk.actual_size > 0
        macs_e = {r.from_ for p in east.mac_pools_service().list() for r in p.ranges}
        macs_w = {r.from_ for p in west.mac_pools_service().list() for r in p.ranges}
        assert macs_e != macs_w
        assert {n.name for n in west.networks_service().list()} == {"ovirtmgmt", "app-west", "drill"}
    finally:
        conn_e.close()
        conn_w.close()


def test_async_replication_lags_and_reports_age(sites):
    primary, _secondary, root = sites
    out = primary.admin("POST", "replication", {"domain": "dr-data", "to_path": str(root / "replica"),
                                                "mode": "async", "interval": 300})
    assert out["state"] == "replicating" and out["age"] == 0
    sd_id = out["domain_id"]
    assert os.path.exists(root / "replica" / sd_id / "dom_md" / "metadata")
    assert len(os.listdir(root / "replica" / sd_id / "ovf_store")) == 6     # template + 5 VMs on dr-data
    _advance(primary, 120)
    st = primary.admin("GET", "replication")["domains"]["dr-data"]
    assert 119 <= st["age"] <= 121 and st["ovf_store_age"] >= 120
    _advance(primary, 200)       # the copy due at 300 s ran: the replica is 20 s old
    st = primary.admin("GET", "replication")["domains"]["dr-data"]
    assert st["age"] <= 21


def test_vm_created_after_last_ovf_update_is_missing_after_unplanned_failover(sites):
    primary, secondary, root = sites
    conn_e, east = _sys(primary)
    conn_w, west = _sys(secondary)
    try:
        tpl = east.templates_service().list(search="name=centos9-east")[0]
        vm = east.vms_service().add(types.Vm(name="late01", cluster=types.Cluster(name="east"),
                                             template=types.Template(id=tpl.id)))
        _advance(primary, 400)                            # created and copied, but no OVF update yet
        vm_svc = east.vms_service().vm_service(vm.id)
        assert vm_svc.get().status == types.VmStatus.DOWN
        sd_id = primary.admin("GET", "replication")["domains"]["dr-data"]["domain_id"]
        assert os.path.isdir(root / "replica" / sd_id / "images")
        assert not os.path.exists(root / "replica" / sd_id / "ovf_store" / (vm.id + ".json"))
        frozen = primary.admin("POST", "replication/dr-data/freeze")
        assert frozen["state"] == "frozen"
        before = primary.admin("GET", "replication")["domains"]["dr-data"]["age"]
        _advance(primary, 600)
        assert primary.admin("GET", "replication")["domains"]["dr-data"]["age"] >= before + 600
        # site east is lost: import the replica on west
        secondary.reset_requests()
        sd = _import(secondary, west, str(root / "replica"))
        assert sd.id == sd_id and sd.name == "dr-data"
        sd_svc = west.storage_domains_service().storage_domain_service(sd.id)
        unreg = {v.name: v for v in sd_svc.vms_service().list(unregistered=True)}
        assert set(unreg) == {"web01", "web02", "db01", "app01", "tools01"}     # late01 missing, batch01 elsewhere
        assert unreg["web01"].status == types.VmStatus.UP and unreg["tools01"].status == types.VmStatus.DOWN
        assert unreg["db01"].high_availability.priority == 80
        templates = sd_svc.templates_service().list(unregistered=True)
        assert [t.name for t in templates] == ["centos9-east"]
        # a VM cannot come before its template
        with pytest.raises(ovirtsdk4.Error) as err:
            sd_svc.vms_service().vm_service(unreg["tools01"].id).register(
                cluster=types.Cluster(name="west"), reassign_bad_macs=True)
        assert "Template" in str(err.value)
        sd_svc.templates_service().template_service(templates[0].id).register(cluster=types.Cluster(name="west"))
        assert west.templates_service().list(search="name=centos9-east")
        # register with mappings: cluster, vNIC profiles, affinity group and label
        sd_svc.vms_service().vm_service(unreg["web01"].id).register(
            registration_configuration=_mappings(west), reassign_bad_macs=True)
        web01 = west.vms_service().vm_service(unreg["web01"].id)
        got = web01.get()
        assert got.cluster.id == west.clusters_service().list(search="name=west")[0].id
        assert got.high_availability.priority == 100 and got.status == types.VmStatus.DOWN
        nics = {n.name: n for n in web01.nics_service().list()}
        prof = {p.id: p.name for p in west.vnic_profiles_service().list()}
        assert prof[nics["nic2"].vnic_profile.id] == "app-west" and prof[nics["nic1"].vnic_profile.id] == "ovirtmgmt"
        assert all(n.mac.address.startswith("56:6f:2b:") for n in nics.values())     # reassigned from west's pool
        group = [g for g in west.clusters_service().cluster_service(got.cluster.id).affinity_groups_service().list()
                 if g.name == "web-spread"][0]
        assert [v.id for v in group.vms] == [got.id]
        assert web01.affinity_labels_service().list()[0].name == "tier-web"
        assert [v.name for v in sd_svc.vms_service().list(unregistered=True)].count("web01") == 0
        events = west.events_service().list(search="type=174")
        assert any("web01" in e.description for e in events)
        # the disk is the replica's image: the VM starts on west
        disk_ids = [a.disk.id for a in web01.disk_attachments_service().list()]
        assert len(disk_ids) == 1 and west.disks_service().disk_service(disk_ids[0]).get().actual_size > 0
        web01.start()
        _advance(secondary, 60)
        wait_status(web01, types.VmStatus.UP)
        # the primary was never touched by the failover
        assert not [r for r in primary.mutating_requests() if "/storagedomains" in r["path"]]
    finally:
        conn_e.close()
        conn_w.close()


def test_registration_refusals_are_worded_like_the_engine(sites):
    _primary, secondary, root = sites
    conn_w, west = _sys(secondary)
    try:
        sd = west.storage_domains_service().list(search="name=dr-data")[0]
        sd_svc = west.storage_domains_service().storage_domain_service(sd.id)
        unreg = {v.name: v for v in sd_svc.vms_service().list(unregistered=True)}
        db01 = sd_svc.vms_service().vm_service(unreg["db01"].id)
        # the OVF's cluster (east) does not exist on west and nothing maps it
        with pytest.raises(ovirtsdk4.Error) as err:
            db01.register(reassign_bad_macs=True)
        assert "Cluster can not be empty" in str(err.value)
        # a MAC that a west VM already has, without reassign_bad_macs
        clash = west.vms_service().add(types.Vm(name="clash", cluster=types.Cluster(name="west"),
                                                template=types.Template(name="Blank")))
        _advance(secondary, 5)
        taken = _ovf_macs(root, sd.id, unreg["db01"].id)[0]
        west.vms_service().vm_service(clash.id).nics_service().add(types.Nic(name="nic1", mac=types.Mac(address=taken)))
        with pytest.raises(ovirtsdk4.Error) as err:
            db01.register(cluster=types.Cluster(name="west"), reassign_bad_macs=False)
        assert "MAC Address %s is already in use" % taken in str(err.value)
        assert not west.vms_service().list(search="name=db01")
        west.vms_service().vm_service(clash.id).remove()
        # a vNIC profile mapping to a profile that does not exist: the NIC loses its network, the event names it
        db01.register(cluster=types.Cluster(name="west"), reassign_bad_macs=True,
                      registration_configuration=types.RegistrationConfiguration(vnic_profile_mappings=[
                          types.RegistrationVnicProfileMapping(
                              from_=types.VnicProfile(name="app", network=types.Network(name="app")),
                              to=types.VnicProfile(id="00000000-0000-0000-0000-00000000dead"))]))
        got = west.vms_service().list(search="name=db01")[0]
        nics = {n.name: n for n in west.vms_service().vm_service(got.id).nics_service().list()}
        assert nics["nic2"].vnic_profile is None
        partial = [e for e in west.events_service().list() if "were missing" in (e.description or "")]
        assert partial and "app/app" in partial[0].description
        # registering it again: the Engine has it
        with pytest.raises(ovirtsdk4.Error) as err:
            db01.register(cluster=types.Cluster(name="west"))
        assert "same identifier already exists" in str(err.value)
    finally:
        conn_w.close()


def _ovf_macs(root, sd_id, vid):
    import json
    with open(os.path.join(str(root), "replica", sd_id, "ovf_store", vid + ".json")) as f:
        return [n["mac"] for n in json.load(f)["nics"]]


def test_drill_imports_a_snapshot_of_the_replica_without_touching_the_primary(tmp_path):
    primary = start_simulator(str(tmp_path / "east"), seed="dr-primary", clock="manual")
    secondary = start_simulator(str(tmp_path / "west"), seed="dr-secondary", clock="manual")
    try:
        primary.admin("POST", "replication", {"domain": "dr-data", "to_state_dir": secondary.state_dir,
                                              "mode": "sync"})
        conn_w, west = _sys(secondary)
        primary.reset_requests()
        snap = primary.admin("POST", "replication/dr-data/snapshot", {"to_path": str(tmp_path / "drill")})
        assert os.path.isdir(snap["replica"])
        sd = _import(secondary, west, str(tmp_path / "drill"))
        sd_svc = west.storage_domains_service().storage_domain_service(sd.id)
        tpl = sd_svc.templates_service().list(unregistered=True)[0]
        sd_svc.templates_service().template_service(tpl.id).register(cluster=types.Cluster(name="west"))
        web01 = [v for v in sd_svc.vms_service().list(unregistered=True) if v.name == "web01"][0]
        drill_profile = [p for p in west.vnic_profiles_service().list() if p.name == "drill"][0]
        conf = types.RegistrationConfiguration(vnic_profile_mappings=[
            types.RegistrationVnicProfileMapping(from_=types.VnicProfile(name=n, network=types.Network(name=n)),
                                                 to=types.VnicProfile(id=drill_profile.id))
            for n in ("ovirtmgmt", "app")])
        sd_svc.vms_service().vm_service(web01.id).register(
            cluster=types.Cluster(name="west"), clone=True, vm=types.Vm(name="web01-drill"),
            registration_configuration=conf, reassign_bad_macs=True)
        copy = west.vms_service().list(search="name=web01-drill")[0]
        assert copy.id != web01.id
        nics = west.vms_service().vm_service(copy.id).nics_service().list()
        assert {n.vnic_profile.id for n in nics} == {drill_profile.id}
        # the primary saw no request at all while the drill ran, its replica is untouched (sync, still live)
        assert primary.mutating_requests() == []
        st = primary.admin("GET", "replication")["domains"]["dr-data"]
        assert st["state"] == "replicating" and st["age"] == 0 and st["mode"] == "sync"
        assert not os.path.exists(os.path.join(st["replica"], "images", copy.id))
        conn_w.close()
    finally:
        primary.stop()
        secondary.stop()


def test_planned_failover_and_failback(tmp_path):
    primary = start_simulator(str(tmp_path / "east"), seed="dr-primary", clock="manual")
    secondary = start_simulator(str(tmp_path / "west"), seed="dr-secondary", clock="manual")
    try:
        rep = primary.admin("POST", "replication", {"domain": "dr-data", "to_state_dir": secondary.state_dir,
                                                    "mode": "sync"})
        conn_e, east = _sys(primary)
        conn_w, west = _sys(secondary)
        # a VM created after the last OVF update: a planned failover keeps it (deactivate writes the OVF store)
        tpl = east.templates_service().list(search="name=centos9-east")[0]
        east.vms_service().add(types.Vm(name="late02", cluster=types.Cluster(name="east"),
                                        template=types.Template(id=tpl.id)))
        db01 = east.vms_service().list(search="name=db01")[0]
        east.vms_service().vm_service(db01.id).snapshots_service().add(types.Snapshot(description="before move"))
        _advance(primary, 30)
        db01_disk = east.vms_service().vm_service(db01.id).disk_attachments_service().list()[0].disk.id
        top_east = east.disks_service().disk_service(db01_disk).get().image_id
        dc = east.data_centers_service().list(search="name=dc-east")[0]
        attached = east.data_centers_service().data_center_service(dc.id).storage_domains_service()
        sd_id = rep["domain_id"]
        with pytest.raises(ovirtsdk4.Error) as err:
            attached.storage_domain_service(sd_id).deactivate()
        assert "running" in str(err.value) and "web01" in str(err.value)
        for vm in east.vms_service().list():
            if vm.status == types.VmStatus.UP:
                east.vms_service().vm_service(vm.id).stop()
        _advance(primary, 30)
        attached.storage_domain_service(sd_id).deactivate()
        st = primary.admin("GET", "replication")["domains"]["dr-data"]
        assert st["ovf_store_age"] == 0 and st["age"] == 0
        attached.storage_domain_service(sd_id).remove()          # detach: its VMs leave east's database
        names = {v.name for v in east.vms_service().list()}
        assert names == {"batch01"}
        sd = _import(secondary, west, os.path.join(secondary.state_dir, "exports", "dr-data"))
        sd_svc = west.storage_domains_service().storage_domain_service(sd.id)
        assert "late02" in {v.name for v in sd_svc.vms_service().list(unregistered=True)}
        # east removes its copy without formatting: the files stay; the sync replication sees west attached its
        # replica (promoted) and no longer copies over it
        east.storage_domains_service().storage_domain_service(sd_id).remove(host="east01")
        st = primary.admin("GET", "replication")["domains"]["dr-data"]
        assert st["state"] == "frozen" and st["promoted"] is True
        replica_meta = os.path.join(secondary.state_dir, "exports", "dr-data", sd_id, "dom_md", "metadata")
        with open(replica_meta) as f:
            assert "POOL_UUID=%s" % west.data_centers_service().list(search="name=dc-west")[0].id in f.read()
        east_dir = os.path.join(primary.state_dir, "exports", "dr-data", sd_id)
        assert os.path.exists(os.path.join(east_dir, "dom_md", "metadata"))
        # failback: the replication reversed copies west's live domain back into east's export
        tpl_w = sd_svc.templates_service().list(unregistered=True)[0]
        sd_svc.templates_service().template_service(tpl_w.id).register(cluster=types.Cluster(name="west"))
        # a VM with a snapshot comes back on its active volume, with the chain under it
        sd_svc.vms_service().vm_service(db01.id).register(cluster=types.Cluster(name="west"), reassign_bad_macs=True)
        disk_w = west.disks_service().disk_service(db01_disk).get()
        assert disk_w.image_id == top_east and disk_w.actual_size > 0
        west.vms_service().vm_service(db01.id).start()
        _advance(secondary, 60)
        wait_status(west.vms_service().vm_service(db01.id), types.VmStatus.UP)
        extra = west.vms_service().add(types.Vm(name="born-west", cluster=types.Cluster(name="west"),
                                                template=types.Template(id=tpl_w.id)))
        _advance(secondary, 10)
        sd_svc.update_ovf_store()
        rev = primary.admin("POST", "replication/dr-data/reverse", {"mode": "async", "interval": 60})
        assert rev["direction"] == "reverse"
        assert os.path.exists(os.path.join(east_dir, "ovf_store", extra.id + ".json"))
        host = east.hosts_service().list(search="name=east01")[0]
        back = east.storage_domains_service().add(types.StorageDomain(
            name="dr-data", type=types.StorageDomainType.DATA, host=types.Host(id=host.id),
            storage=types.HostStorage(type=types.StorageType.NFS, address="nfs-east.example.test",
                                      path=os.path.join(primary.state_dir, "exports", "dr-data"))))
        assert back.id == sd_id and back.status == types.StorageDomainStatus.UNATTACHED
        # format=true wipes the directory
        east.storage_domains_service().storage_domain_service(sd_id).remove(host="east01", format=True)
        assert not os.path.exists(east_dir)
        conn_e.close()
        conn_w.close()
    finally:
        primary.stop()
        secondary.stop()


def test_ovf_store_is_written_on_the_timer_and_on_request(tmp_path):
    sim = start_simulator(str(tmp_path / "east"), seed="dr-primary", clock="manual")
    try:
        sim.tunables(ovf_update_interval=600)
        conn, east = _sys(sim)
        sd = east.storage_domains_service().list(search="name=dr-data")[0]
        folder = os.path.join(sim.state_dir, "exports", "dr-data", sd.id, "ovf_store")
        tpl = east.templates_service().list(search="name=centos9-east")[0]
        vm = east.vms_service().add(types.Vm(name="late03", cluster=types.Cluster(name="east"),
                                             template=types.Template(id=tpl.id)))
        _advance(sim, 10)
        assert not os.path.exists(os.path.join(folder, vm.id + ".json"))
        east.storage_domains_service().storage_domain_service(sd.id).update_ovf_store()
        assert os.path.exists(os.path.join(folder, vm.id + ".json"))
        east.vms_service().vm_service(vm.id).remove()
        _advance(sim, 3600)      # the first timer is due an hour after the start; then every 600 s
        assert not os.path.exists(os.path.join(folder, vm.id + ".json"))
        unattached = east.storage_domains_service().list(search="name=east-local")[0]
        conn.close()
        assert unattached
    finally:
        sim.stop()


def test_block_domain_is_imported_by_id(sites):
    primary, secondary, _root = sites
    conn_e, east = _sys(primary)
    conn_w, west = _sys(secondary)
    try:
        lun = types.LogicalUnit(id="36001405drblock000000000000000001", address="san-east.example.test", port=3260,
                                target="iqn.2026-11.test.east:dr")
        sd = east.storage_domains_service().add(types.StorageDomain(
            name="dr-block", type=types.StorageDomainType.DATA, host=types.Host(name="east01"),
            storage=types.HostStorage(type=types.StorageType.ISCSI, logical_units=[lun])))
        primary.admin("POST", "replication", {"domain": "dr-block", "to_state_dir": secondary.state_dir,
                                              "mode": "async", "interval": 60})
        host = west.hosts_service().list(search="name=west01")[0]
        block = types.HostStorage(type=types.StorageType.ISCSI, logical_units=[
            types.LogicalUnit(id="36001405drblock000000000000000001", address="san-west.example.test", port=3260,
                              target="iqn.2026-11.test.west:dr")])
        with pytest.raises(ovirtsdk4.NotFoundError):
            west.storage_domains_service().add(types.StorageDomain(
                id="2c1bbd5b-2a46-4f34-9b1d-000000000000", import_=True, type=types.StorageDomainType.DATA,
                host=types.Host(id=host.id), storage=block))
        got = west.storage_domains_service().add(types.StorageDomain(
            id=sd.id, import_=True, type=types.StorageDomainType.DATA, host=types.Host(id=host.id), storage=block))
        assert got.id == sd.id and got.name == "dr-block" and got.status == types.StorageDomainStatus.UNATTACHED
        primary.admin("DELETE", "replication/dr-block")
    finally:
        conn_e.close()
        conn_w.close()
