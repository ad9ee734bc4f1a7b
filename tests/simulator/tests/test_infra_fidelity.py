# SPDX-License-Identifier: GPL-3.0-or-later
"""vNIC profiles, MAC pools, reinstalling hosts, destroying storage domains, system options and the cluster upgrade
flag as the Engine answers them."""

import os

import ovirtsdk4 as sdk
from ovirtsdk4 import types
import pytest

from ovirt_engine_sim.testing import wait_status


@pytest.fixture
def system(fresh_engine_sim):
    conn = fresh_engine_sim.connection()
    yield conn.system_service()
    conn.close()


def _mgmt(system):
    return [n for n in system.networks_service().list() if n.name == "ovirtmgmt"][0]


def test_new_vnic_profile_keeps_what_was_asked_and_gets_the_default_network_filter(system):
    profiles = system.vnic_profiles_service()
    filters = dict((f.name, f.id) for f in system.network_filters_service().list())
    assert "vdsm-no-mac-spoofing" in filters and "clean-traffic" in filters
    net = _mgmt(system)
    p = profiles.add(types.VnicProfile(name="mirror", network=types.Network(id=net.id), port_mirroring=True,
                                       description="m"))
    assert p.port_mirroring is True and p.migratable is True
    assert p.pass_through.mode == types.VnicPassThroughMode.DISABLED
    assert p.network_filter.id == filters["vdsm-no-mac-spoofing"]
    # an empty <network_filter/> means none; a named one is that one
    bare = profiles.add(types.VnicProfile(name="bare", network=types.Network(id=net.id),
                                          network_filter=types.NetworkFilter()))
    assert bare.network_filter is None
    clean = profiles.profile_service(bare.id).update(types.VnicProfile(
        network_filter=types.NetworkFilter(id=filters["clean-traffic"])))
    assert clean.network_filter.id == filters["clean-traffic"]
    cleared = profiles.profile_service(bare.id).update(types.VnicProfile(network_filter=types.NetworkFilter()))
    assert cleared.network_filter is None
    # the management network's own profile has the default filter too
    mgmt = [x for x in profiles.list() if x.name == "ovirtmgmt"][0]
    assert mgmt.network_filter.id == filters["vdsm-no-mac-spoofing"]
    with pytest.raises(sdk.Error) as err:
        profiles.add(types.VnicProfile(name="pt", network=types.Network(id=net.id), port_mirroring=True,
                                       pass_through=types.VnicPassThrough(mode=types.VnicPassThroughMode.ENABLED)))
    assert err.value.code == 409 and "not supported on passthrough profiles" in str(err.value)


def test_reinstall_leaves_the_host_in_maintenance_unless_asked_to_activate(system):
    hosts = system.hosts_service()
    host = hosts.list(search="name=host03")[0]
    svc = hosts.host_service(host.id)
    svc.deactivate()
    wait_status(svc, types.HostStatus.MAINTENANCE)
    svc.install(root_password="secret")                     # 'activate' defaults to false for install
    wait_status(svc, types.HostStatus.INSTALLING)
    wait_status(svc, types.HostStatus.MAINTENANCE)
    svc.install(root_password="secret", activate=True)
    wait_status(svc, types.HostStatus.UP)


def test_destroy_forgets_a_domain_in_maintenance_and_leaves_its_data(system, fresh_engine_sim):
    sds = system.storage_domains_service()
    sd = sds.add(types.StorageDomain(name="d3", type=types.StorageDomainType.DATA, host=types.Host(name="host01"),
                                     storage=types.HostStorage(type=types.StorageType.NFS, address="nfs.example.test",
                                                               path="/exports/d3")))
    dc = system.data_centers_service().list(search="name=Default")[0]
    attached = system.data_centers_service().data_center_service(dc.id).storage_domains_service()
    attached.add(types.StorageDomain(id=sd.id))
    wait_status(attached.storage_domain_service(sd.id), types.StorageDomainStatus.ACTIVE)
    with pytest.raises(sdk.Error) as err:
        sds.storage_domain_service(sd.id).remove(destroy=True)
    assert err.value.code == 409 and "status is Active" in str(err.value)
    attached.storage_domain_service(sd.id).deactivate()
    wait_status(attached.storage_domain_service(sd.id), types.StorageDomainStatus.MAINTENANCE)
    sds.storage_domain_service(sd.id).remove(destroy=True)
    assert [s.name for s in sds.list(search="name=d3")] == []
    assert os.path.isdir(os.path.join(fresh_engine_sim.state_dir, "storage", sd.id))   # the data stays
    events = system.events_service().list(search="type=981")
    assert [e.description for e in events] == ["Storage Domain d3 was forcibly removed by admin@internal-authz"]


def test_vnics_take_addresses_from_their_cluster_mac_pool_unique_within_it(system):
    pools = system.mac_pools_service()
    tiny = [types.Range(from_="02:00:00:00:00:00", to="02:00:00:00:00:01")]
    pool = pools.add(types.MacPool(name="tiny", ranges=tiny))
    dc = system.data_centers_service().list(search="name=Default")[0]
    system.clusters_service().add(types.Cluster(name="c2", data_center=types.DataCenter(id=dc.id),
                                                cpu=types.Cpu(type="Intel Icelake Server Family"),
                                                mac_pool=types.MacPool(id=pool.id)))
    vms = system.vms_service()
    a = vms.add(types.Vm(name="a", cluster=types.Cluster(name="c2"), template=types.Template(name="Blank")))
    b = vms.add(types.Vm(name="b", cluster=types.Cluster(name="c2"), template=types.Template(name="Blank")))
    d = vms.add(types.Vm(name="d", cluster=types.Cluster(name="Default"), template=types.Template(name="Blank")))
    nics_a = vms.vm_service(a.id).nics_service()
    nics_b = vms.vm_service(b.id).nics_service()
    macs = [nics_a.add(types.Nic(name="nic%d" % i)).mac.address for i in (1, 2)]
    assert sorted(macs) == ["02:00:00:00:00:00", "02:00:00:00:00:01"]
    with pytest.raises(sdk.Error) as err:
        nics_b.add(types.Nic(name="nic1"))
    assert err.value.code == 409 and "Not enough MAC addresses left in MAC Address Pool" in str(err.value)
    # the same address in the same pool is refused; in another pool (cluster Default's) it is free
    nics_a.nic_service(nics_a.list()[1].id).remove()
    with pytest.raises(sdk.Error) as err:
        nics_b.add(types.Nic(name="nic1", mac=types.Mac(address=macs[0])))
    assert err.value.code == 409 and "already in use" in str(err.value)
    other = vms.vm_service(d.id).nics_service().add(types.Nic(name="nic1", mac=types.Mac(address=macs[0])))
    assert other.mac.address == macs[0]
    # the address given back is allocated again
    assert nics_b.add(types.Nic(name="nic1")).mac.address == macs[1]


def test_system_options_answer_by_name_and_hide_the_engines_own(system):
    options = system.options_service()
    opt = options.option_service("SearchResultsLimit").get(version="4.7")
    assert opt.name == "SearchResultsLimit" and [(v.value, v.version) for v in opt.values] == [("100", "general")]
    with pytest.raises(sdk.NotFoundError):
        options.option_service("ServerRebootTimeout").get()      # ClientAccessLevel Internal


def test_cluster_upgrade_flag_follows_the_engines_commands(fresh_engine_sim):
    conn = fresh_engine_sim.connection()
    try:
        clusters = conn.system_service().clusters_service()
        cl = clusters.list(search="name=Default")[0]
        svc = clusters.cluster_service(cl.id)
        assert cl.upgrade_in_progress is False and cl.upgrade_percent_complete == 0

        def progress(pct, cid):
            return svc.upgrade(upgrade_action=types.ClusterUpgradeAction.UPDATE_PROGRESS,
                               upgrade_percent_complete=pct, correlation_id=cid)

        with pytest.raises(sdk.Error) as err:            # UpdateClusterUpgradeCommand: not started
            progress(0, "roll-1")
        assert err.value.code == 409 and "cluster upgrade has not been started" in str(err.value)
        svc.upgrade(upgrade_action=types.ClusterUpgradeAction.START, correlation_id="roll-1")
        progress(40, "roll-1")
        got = svc.get()
        assert got.upgrade_in_progress and got.upgrade_percent_complete == 40 and got.upgrade_correlation_id == "roll-1"
        with pytest.raises(sdk.Error) as err:
            progress(50, "someone-else")
        assert err.value.code == 409 and "correlation id does not match" in str(err.value)
        with pytest.raises(sdk.Error) as err:
            progress(101, "roll-1")
        assert err.value.code == 409 and "range of 0 to 100" in str(err.value)
        with pytest.raises(sdk.Error) as err:             # already running: the command fails in execution
            svc.upgrade(upgrade_action=types.ClusterUpgradeAction.START, correlation_id="roll-2")
        assert err.value.code == 400
        svc.upgrade(upgrade_action=types.ClusterUpgradeAction.FINISH, correlation_id="roll-1")
        svc.upgrade(upgrade_action=types.ClusterUpgradeAction.FINISH)    # clearing a cleared flag is fine
        got = svc.get()
        assert got.upgrade_in_progress is False and got.upgrade_percent_complete == 0
        codes = [e.code for e in conn.system_service().events_service().list(search="cluster.name=Default")
                 if e.code in (892, 893, 894, 896)]
        assert sorted(codes) == [892, 893, 894, 894, 896]
    finally:
        conn.close()


def test_host_storage_lists_the_luns_of_the_block_domains(system):
    host = system.hosts_service().list(search="name=host02")[0]
    seen = system.hosts_service().host_service(host.id).storage_service()
    assert seen.list() == []                                     # only NFS in the default seed
    sd = system.storage_domains_service().add(types.StorageDomain(
        name="fc1", type=types.StorageDomainType.DATA, host=types.Host(name="host01"),
        storage=types.HostStorage(type=types.StorageType.FCP, logical_units=[types.LogicalUnit(id="36001405aa")])))
    luns = seen.list()
    assert [(s.type, s.logical_units[0].id, s.logical_units[0].storage_domain_id) for s in luns] == [
        (types.StorageType.FCP, "36001405aa", sd.id)]
