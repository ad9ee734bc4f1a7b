# SPDX-License-Identifier: GPL-3.0-or-later
"""Infrastructure as the Engine answers it: data centers follow their master domain, one master per DC,
moving hosts between clusters, power management needs an agent, search fields, upgrades return a host to the
status the Engine gives it, and the Engine's own periodic update check."""

import ovirtsdk4 as sdk
from ovirtsdk4 import types
import pytest

from ovirt_engine_sim.testing import poll, wait_status


@pytest.fixture
def system(fresh_engine_sim):
    conn = fresh_engine_sim.connection()
    yield conn.system_service()
    conn.close()


def _host(system, name):
    host = system.hosts_service().list(search="name=%s" % name)[0]
    return host, system.hosts_service().host_service(host.id)


def test_new_data_center_is_uninitialized_until_a_master_domain_is_active(system):
    dcs = system.data_centers_service()
    dc = dcs.add(types.DataCenter(name="dc2", local=False))
    assert dc.status == types.DataCenterStatus.UNINITIALIZED
    with pytest.raises(sdk.Error) as err:
        dcs.add(types.DataCenter(name="dc2", local=False))
    assert err.value.code == 409 and "name is already in use" in str(err.value)
    # the Engine gives every new data center its management network
    assert [n.name for n in dcs.data_center_service(dc.id).networks_service().list()] == ["ovirtmgmt"]
    system.clusters_service().add(types.Cluster(name="c2", data_center=types.DataCenter(name="dc2"),
                                                cpu=types.Cpu(type="Intel Icelake Server Family")))
    hosts = system.hosts_service()
    host = hosts.add(types.Host(name="h2", address="h2.example.test", root_password="x",
                                cluster=types.Cluster(name="c2")))
    assert host.status == types.HostStatus.INSTALLING
    wait_status(hosts.host_service(host.id), types.HostStatus.UP)
    sds = system.storage_domains_service()
    sd1, sd2 = [sds.add(types.StorageDomain(
        name=n, type=types.StorageDomainType.DATA, host=types.Host(name="h2"),
        storage=types.HostStorage(type=types.StorageType.NFS, address="nfs.example.test", path="/exports/" + n)))
        for n in ("d1", "d2")]
    assert sd1.status == types.StorageDomainStatus.UNATTACHED
    attached = dcs.data_center_service(dc.id).storage_domains_service()
    for sd in (sd1, sd2):
        attached.add(types.StorageDomain(id=sd.id))
    for sd in (sd1, sd2):
        wait_status(attached.storage_domain_service(sd.id), types.StorageDomainStatus.ACTIVE)
    assert dcs.data_center_service(dc.id).get().status == types.DataCenterStatus.UP
    masters = [s.name for s in attached.list() if s.master]
    assert masters == ["d1"], "only the first data domain of a DC is master"
    # search fields of the Engine's auto-completers
    assert [s.name for s in sds.list(search="datacenter=dc2 and status=active")] == ["d1", "d2"]
    assert [d.name for d in dcs.list(search="storage.name=d2")] == ["dc2"]
    assert [c.name for c in system.clusters_service().list(search="datacenter=dc2")] == ["c2"]
    # the master moves when it is deactivated while another data domain is active
    attached.storage_domain_service(sd1.id).deactivate()
    assert [s.name for s in attached.list() if s.master] == ["d2"]
    attached.storage_domain_service(sd2.id).deactivate()
    assert dcs.data_center_service(dc.id).get().status == types.DataCenterStatus.MAINTENANCE


def test_moving_a_host_to_another_cluster_needs_maintenance_and_is_applied(system):
    system.clusters_service().add(types.Cluster(name="other", data_center=types.DataCenter(name="Default"),
                                                cpu=types.Cpu(type="Intel Icelake Server Family")))
    host, hsvc = _host(system, "host03")
    with pytest.raises(sdk.Error) as err:
        hsvc.update(types.Host(cluster=types.Cluster(name="other")))
    assert err.value.code == 409 and "Maintenance mode first" in str(err.value)
    hsvc.deactivate()
    wait_status(hsvc, types.HostStatus.MAINTENANCE)
    hsvc.update(types.Host(cluster=types.Cluster(name="other")))
    moved = hsvc.get()
    other = system.clusters_service().list(search="name=other")[0]
    assert moved.cluster.id == other.id
    assert [h.name for h in system.hosts_service().list(search="cluster=other")] == ["host03"]


def test_power_management_needs_a_fence_agent_and_the_last_agent_stays_while_enabled(system):
    host, hsvc = _host(system, "host02")
    assert not host.power_management.enabled
    with pytest.raises(sdk.Error) as err:
        hsvc.update(types.Host(power_management=types.PowerManagement(enabled=True)))
    assert err.value.code == 409 and "no Agent type selected" in str(err.value)
    agents = hsvc.fence_agents_service()
    agent = agents.add(types.Agent(address="bmc-host02.example.test", type="ipmilan", username="admin",
                                   password="calvin", order=0))
    hsvc.update(types.Host(power_management=types.PowerManagement(enabled=True)))
    with pytest.raises(sdk.Error) as err:
        agents.agent_service(agent.id).remove()
    assert "last Fence-Agent" in str(err.value)
    with pytest.raises(sdk.Error):
        agents.add(types.Agent(address="10.0.0.9", type="ipmilan", username="admin"))   # no password


def test_remove_host_needs_maintenance(system):
    host, hsvc = _host(system, "host03")
    with pytest.raises(sdk.Error) as err:
        hsvc.remove()
    assert "Please switch Host to Maintenance mode first" in str(err.value)
    hsvc.deactivate()
    wait_status(hsvc, types.HostStatus.MAINTENANCE)
    hsvc.remove()
    assert not system.hosts_service().list(search="name=host03")


def test_upgraded_host_that_was_up_comes_back_up(system, fresh_engine_sim):
    fresh_engine_sim.admin("POST", "hosts/host03", {"update_available": True})
    host, hsvc = _host(system, "host03")
    hsvc.upgrade_check()
    poll(hsvc.get, lambda h: h.update_available)
    hsvc.upgrade(reboot=True)
    seen = set()
    poll(hsvc.get, lambda h: seen.add(h.status) or (h.status == types.HostStatus.UP and not h.update_available
                                                    and types.HostStatus.REBOOT in seen), timeout=60)
    assert types.HostStatus.INSTALLING in seen


def test_the_engine_checks_for_host_updates_on_its_own(system, fresh_engine_sim):
    fresh_engine_sim.set_clock(mode="manual")
    fresh_engine_sim.admin("POST", "hosts/host02", {"update_available": True})
    host, hsvc = _host(system, "host02")
    host01 = _host(system, "host01")[0]
    if host.update_available:   # the admin API may set it at once; the Engine's check is what we test
        pytest.skip("admin API already exposes the flag")
    fresh_engine_sim.advance(24 * 3600 + 60)
    assert hsvc.get().update_available
    assert not system.hosts_service().host_service(host01.id).get().update_available


def test_mac_pools_and_cluster_network_attachment(system):
    pools = system.mac_pools_service()
    assert [p.name for p in pools.list()] == ["Default"]
    with pytest.raises(sdk.Error):
        pools.add(types.MacPool(name="bad", ranges=[types.Range(from_="02:00:00:00:00:10", to="02:00:00:00:00:01")]))
    pool = pools.add(types.MacPool(name="p1", ranges=[types.Range(from_="02:00:00:00:00:00", to="02:00:00:00:ff:ff")]))
    cluster = system.clusters_service().list(search="name=Default")[0]
    csvc = system.clusters_service().cluster_service(cluster.id)
    assert cluster.ksm is not None and cluster.mac_pool is not None and cluster.migration.bandwidth is not None
    csvc.update(types.Cluster(mac_pool=types.MacPool(id=pool.id)))
    assert csvc.get().mac_pool.id == pool.id
    with pytest.raises(sdk.Error) as err:
        pools.mac_pool_service(pool.id).remove()
    assert "still used" in str(err.value)
    net = system.networks_service().add(types.Network(name="blue", data_center=types.DataCenter(name="Default")))
    assert [n.name for n in csvc.networks_service().list()] == ["ovirtmgmt"]
    csvc.networks_service().add(types.Network(id=net.id, required=False))
    assert sorted(n.name for n in csvc.networks_service().list()) == ["blue", "ovirtmgmt"]
    with pytest.raises(sdk.Error) as err:
        csvc.networks_service().add(types.Network(id=net.id))
    assert "already attached" in str(err.value)
    assert [n.name for n in system.networks_service().list(search="cluster_network.name=Default and name=blue")] == \
        ["blue"]
