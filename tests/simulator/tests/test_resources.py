# SPDX-License-Identifier: GPL-3.0-or-later
"""CRUD, follow, hrefs, max and the Engine's error codes, through the real SDK."""

import ovirtsdk4 as sdk
from ovirtsdk4 import types
import pytest

from ovirt_engine_sim.testing import wait_status


def _vm(system, name):
    found = system.vms_service().list(search="name=%s" % name)
    assert len(found) == 1, found
    return system.vms_service().vm_service(found[0].id)


def test_seed_topology(system):
    assert [dc.name for dc in system.data_centers_service().list()] == ["Default"]
    assert [c.name for c in system.clusters_service().list()] == ["Default"]
    hosts = system.hosts_service().list()
    assert sorted(h.name for h in hosts) == ["host01", "host02", "host03"]
    assert all(h.status == types.HostStatus.UP for h in hosts)
    assert all(h.memory == 64 * 2**30 and h.cpu.topology.cores * h.cpu.topology.sockets == 16 for h in hosts)
    sds = {sd.name: sd for sd in system.storage_domains_service().list()}
    assert sds["data-nfs"].type == types.StorageDomainType.DATA
    assert sds["backup-nfs"].type == types.StorageDomainType.DATA and sds["backup-nfs"].backup
    templates = {t.name: t for t in system.templates_service().list()}
    assert templates["Blank"].id == "00000000-0000-0000-0000-000000000000"
    assert "centos9-template" in templates
    nets = system.networks_service().list()
    assert "ovirtmgmt" in [n.name for n in nets]
    profiles = system.vnic_profiles_service().list()
    assert "ovirtmgmt" in [p.name for p in profiles]
    assert system.operating_systems_service().list()
    assert system.scheduling_policies_service().list()


def test_vm_add_get_update_remove(system, engine_sim):
    vms = system.vms_service()
    vm = vms.add(types.Vm(name="crud01", cluster=types.Cluster(name="Default"),
                          template=types.Template(name="centos9-template"),
                          memory=2 * 2**30, description="first"))
    assert vm.id and vm.href == "/ovirt-engine/api/vms/%s" % vm.id
    svc = vms.vm_service(vm.id)
    got = wait_status(svc, types.VmStatus.DOWN)
    assert got.name == "crud01" and got.memory == 2 * 2**30
    assert got.cluster.href.startswith("/ovirt-engine/api/clusters/")
    assert got.template.href.startswith("/ovirt-engine/api/templates/")
    # The template's disk was copied: the VM owns a disk attachment backed by a real image.
    atts = svc.disk_attachments_service().list()
    assert len(atts) == 1 and atts[0].bootable
    updated = svc.update(types.Vm(description="second", memory=4 * 2**30))
    assert updated.description == "second" and updated.memory == 4 * 2**30
    assert svc.get().description == "second"
    svc.remove()
    with pytest.raises(sdk.NotFoundError):
        svc.get()


def test_follow_embeds_links_in_one_request(system, conn, engine_sim):
    vm = system.vms_service().add(types.Vm(name="follow01", cluster=types.Cluster(name="Default"),
                                           template=types.Template(name="centos9-template")))
    svc = system.vms_service().vm_service(vm.id)
    wait_status(svc, types.VmStatus.DOWN)
    svc.nics_service().add(types.Nic(name="nic9", vnic_profile=types.VnicProfile(
        id=system.vnic_profiles_service().list()[0].id)))
    mark = engine_sim.requests()[-1]["seq"]
    got = svc.get(follow="nics.vnic_profile.network,disk_attachments.disk,cluster")
    sent = engine_sim.api_requests(since=mark)
    assert len(sent) == 1 and "follow=" in sent[0]["query"]
    assert got.cluster.name == "Default"
    assert {n.name: n.vnic_profile.network.name for n in got.nics}["nic9"] == "ovirtmgmt"
    assert got.disk_attachments[0].disk.provisioned_size > 0
    # A link that was not followed is fetched with follow_link, through its href.
    plain = svc.get()
    assert conn.follow_link(plain.cluster).name == "Default"
    svc.remove()


def test_max_and_not_found(system):
    assert len(system.hosts_service().list(max=2)) == 2
    with pytest.raises(sdk.NotFoundError) as err:
        system.vms_service().vm_service("123e4567-e89b-12d3-a456-426614174000").get()
    assert err.value.code == 404
    with pytest.raises(sdk.NotFoundError):
        system.hosts_service().host_service("nope").get()


def test_unknown_template_and_duplicate_name(system):
    with pytest.raises(sdk.Error) as err:
        system.vms_service().add(types.Vm(name="x1", cluster=types.Cluster(name="Default"),
                                          template=types.Template(name="no-such-template")))
    assert err.value.code in (400, 404) and "no-such-template" in str(err.value)
    system.vms_service().add(types.Vm(name="dup01", cluster=types.Cluster(name="Default"),
                                      template=types.Template(name="Blank")))
    with pytest.raises(sdk.Error) as err:
        system.vms_service().add(types.Vm(name="dup01", cluster=types.Cluster(name="Default"),
                                          template=types.Template(name="Blank")))
    assert err.value.code == 409 and "already" in str(err.value).lower()
    wait_status(_vm(system, "dup01"), types.VmStatus.DOWN)
    _vm(system, "dup01").remove()


def test_delete_running_vm_is_409_with_detail(system, engine_sim):
    vm = system.vms_service().add(types.Vm(name="run01", cluster=types.Cluster(name="Default"),
                                           template=types.Template(name="centos9-template")))
    svc = system.vms_service().vm_service(vm.id)
    wait_status(svc, types.VmStatus.DOWN)
    svc.start()
    wait_status(svc, types.VmStatus.UP)
    with pytest.raises(sdk.Error) as err:
        svc.remove()
    assert err.value.code == 409
    assert err.value.fault is not None and "running" in (err.value.fault.detail or "").lower()
    assert svc.get().status == types.VmStatus.UP
    svc.stop()
    wait_status(svc, types.VmStatus.DOWN)
    svc.remove()


def test_invalid_enum_is_400_naming_the_value(engine_sim):
    import ssl
    import urllib.request
    import urllib.error
    conn = engine_sim.connection()
    token = conn.authenticate()
    body = (b"<vm><name>enum01</name><cluster><name>Default</name></cluster>"
            b"<template><name>Blank</name></template><type>spaceship</type></vm>")
    req = urllib.request.Request(engine_sim.url + "/vms", data=body, method="POST", headers={
        "Authorization": "Bearer " + token, "Content-Type": "application/xml", "Accept": "application/xml",
        "Version": "4"})
    ctx = ssl.create_default_context(cafile=engine_sim.ca_file)
    with pytest.raises(urllib.error.HTTPError) as http:
        urllib.request.urlopen(req, context=ctx, timeout=10)
    assert http.value.code == 400
    text = http.value.read().decode()
    assert "<fault>" in text and "spaceship" in text
    assert not conn.system_service().vms_service().list(search="name=enum01")
    conn.close()


def test_disks_are_real_sparse_images(system, engine_sim):
    import json
    import os
    import subprocess
    sd = system.storage_domains_service().list(search="name=data-nfs")[0]
    disk = system.disks_service().add(types.Disk(
        name="data01", format=types.DiskFormat.COW, provisioned_size=10 * 2**30, sparse=True,
        storage_domains=[types.StorageDomain(id=sd.id)]))
    dsvc = system.disks_service().disk_service(disk.id)
    got = wait_status(dsvc, types.DiskStatus.OK)
    assert got.provisioned_size == 10 * 2**30 and got.actual_size < 10 * 2**20
    paths = [os.path.join(d, f) for d, _dirs, fs in os.walk(engine_sim.state_dir) for f in fs if disk.id in f
             or disk.image_id and disk.image_id in f]
    images = [p for p in paths if not p.endswith((".meta", ".lease"))]
    assert images, "no image file for disk %s under the state dir" % disk.id
    info = json.loads(subprocess.check_output(["qemu-img", "info", "--output=json", images[0]]))
    assert info["format"] == "qcow2" and info["virtual-size"] == 10 * 2**30
    dsvc.remove()
    poll_gone = [p for p in images if os.path.exists(p)]
    assert not poll_gone


def test_nics_tags_affinity_groups_fence_agents(system):
    vm = system.vms_service().add(types.Vm(name="misc01", cluster=types.Cluster(name="Default"),
                                           template=types.Template(name="Blank")))
    svc = system.vms_service().vm_service(vm.id)
    wait_status(svc, types.VmStatus.DOWN)
    nics = svc.nics_service()
    nic = nics.add(types.Nic(name="nic1", mac=types.Mac(address="56:6f:00:00:00:99")))
    assert nics.nic_service(nic.id).get().mac.address == "56:6f:00:00:00:99"
    nics.nic_service(nic.id).update(types.Nic(name="eth0"))
    assert [n.name for n in nics.list()] == ["eth0"]
    nics.nic_service(nic.id).remove()
    assert nics.list() == []

    tag = system.tags_service().add(types.Tag(name="prod"))
    svc.tags_service().add(types.Tag(name="prod"))
    assert [t.name for t in svc.tags_service().list()] == ["prod"]
    assert [v.name for v in system.vms_service().list(search="tag=prod")] == ["misc01"]
    svc.tags_service().tag_service(tag.id).remove()
    assert svc.tags_service().list() == []

    cluster = system.clusters_service().list(search="name=Default")[0]
    groups = system.clusters_service().cluster_service(cluster.id).affinity_groups_service()
    g = groups.add(types.AffinityGroup(name="apart", positive=False, enforcing=True))
    groups.group_service(g.id).vms_service().add(types.Vm(id=vm.id))
    assert [v.id for v in groups.group_service(g.id).vms_service().list()] == [vm.id]
    groups.group_service(g.id).remove()

    host = system.hosts_service().list(search="name=host01")[0]
    agents = system.hosts_service().host_service(host.id).fence_agents_service()
    a = agents.add(types.Agent(type="ipmilan", address="10.0.0.1", username="root", password="secret", order=1))
    listed = agents.list()
    assert [(x.type, x.address, x.order) for x in listed] == [("ipmilan", "10.0.0.1", 1)]
    assert listed[0].password is None, "the Engine never returns fence agent passwords"
    agents.agent_service(a.id).remove()
    assert agents.list() == []
    svc.remove()


def test_clusters_and_networks_crud(system):
    dc = system.data_centers_service().list()[0]
    c = system.clusters_service().add(types.Cluster(
        name="c2", data_center=types.DataCenter(id=dc.id), cpu=types.Cpu(type="Intel Skylake Family"),
        error_handling=types.ErrorHandling(on_error=types.MigrateOnError.MIGRATE_HIGHLY_AVAILABLE),
        fencing_policy=types.FencingPolicy(enabled=True)))
    csvc = system.clusters_service().cluster_service(c.id)
    assert csvc.get().error_handling.on_error == types.MigrateOnError.MIGRATE_HIGHLY_AVAILABLE
    csvc.update(types.Cluster(error_handling=types.ErrorHandling(on_error=types.MigrateOnError.DO_NOT_MIGRATE)))
    assert csvc.get().error_handling.on_error == types.MigrateOnError.DO_NOT_MIGRATE
    net = system.networks_service().add(types.Network(name="vlan100", data_center=types.DataCenter(id=dc.id),
                                                      vlan=types.Vlan(id=100)))
    assert system.networks_service().network_service(net.id).get().vlan.id == 100
    system.networks_service().network_service(net.id).remove()
    csvc.remove()
    assert [x.name for x in system.clusters_service().list()] == ["Default"]
