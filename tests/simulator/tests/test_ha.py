# SPDX-License-Identifier: GPL-3.0-or-later
"""The Engine's HA behaviour: a crashed host is fenced through a proxy by the cluster fencing policy, and its
HA VMs restart elsewhere in priority order; leases restart VMs when fencing cannot; storms are not fenced."""

import pytest
from ovirtsdk4 import types

from ovirt_engine_sim.testing import poll, wait_status

GOOD_BMC = dict(type="ipmilan", username="admin", password="calvin", order=1)


@pytest.fixture
def sim(fresh_engine_sim):
    return fresh_engine_sim


def setup_pm(system, name, password="calvin"):
    host = system.hosts_service().list(search="name=%s" % name)[0]
    hsvc = system.hosts_service().host_service(host.id)
    hsvc.fence_agents_service().add(types.Agent(address="bmc-%s.example.test" % name,
                                                **dict(GOOD_BMC, password=password)))
    hsvc.update(types.Host(power_management=types.PowerManagement(enabled=True)))
    return host


def start_on(system, name, host, priority=None, lease=False, memory=2):
    vms = system.vms_service()
    spec = types.Vm(name=name, cluster=types.Cluster(name="Default"), template=types.Template(name="centos9-template"),
                    memory=memory * 2**30,
                    high_availability=types.HighAvailability(enabled=priority is not None, priority=priority or 0))
    if lease:
        spec.lease = types.StorageDomainLease(storage_domain=types.StorageDomain(name="data-nfs"))
    vm = vms.add(spec)
    svc = vms.vm_service(vm.id)
    wait_status(svc, types.VmStatus.DOWN)
    svc.start(vm=types.Vm(placement_policy=types.VmPlacementPolicy(hosts=[types.Host(id=host.id)])))
    wait_status(svc, types.VmStatus.UP)
    # Pinning was only for the start: let the Engine place the VM anywhere when it restarts it.
    svc.update(types.Vm(placement_policy=types.VmPlacementPolicy(affinity=types.VmAffinity.MIGRATABLE, hosts=[])))
    return svc


def host(system, name):
    return system.hosts_service().list(search="name=%s" % name)[0]


def events_since(system, last):
    return sorted(system.events_service().list(from_=last), key=lambda e: int(e.id))


def test_fenced_host_ha_vms_restart_in_priority_order(sim):
    conn = sim.connection()
    system = conn.system_service()
    h2 = setup_pm(system, "host02")
    vms = {n: start_on(system, n, h2, p, lease) for n, p, lease in (
        ("ha-low", 10, False), ("ha-high", 90, False), ("ha-mid", 50, True), ("plain", None, False))}
    last = int(system.events_service().list(max=1)[0].id)
    sim.inject({"kind": "host_crash", "target": "host02"})
    for name in ("ha-high", "ha-mid", "ha-low"):
        got = wait_status(vms[name], types.VmStatus.UP, timeout=60)
        assert got.host.id != h2.id
    evs = events_since(system, last)
    codes = [e.code for e in evs]
    assert 9020 in codes and 9018 in codes, codes       # fenced through a proxy, and it worked
    assert "Proxy Host host0" in [e for e in evs if e.code == 9020][0].description
    # The Engine starts the HA VMs in priority order (each comes up after its own boot time).
    restarted = [e.vm.id for e in evs if e.code == 153 and "Highly Available" in e.description]
    assert restarted == [vms[n].get().id for n in ("ha-high", "ha-mid", "ha-low")]
    assert vms["plain"].get().status == types.VmStatus.DOWN
    wait_status(system.hosts_service().host_service(h2.id), types.HostStatus.UP, timeout=60)
    conn.close()


def test_fencing_disabled_leases_still_restart(sim):
    conn = sim.connection()
    system = conn.system_service()
    h2 = setup_pm(system, "host02")
    cluster = system.clusters_service().list()[0]
    system.clusters_service().cluster_service(cluster.id).update(
        types.Cluster(fencing_policy=types.FencingPolicy(enabled=False)))
    leased = start_on(system, "leased", h2, 50, lease=True)
    unleased = start_on(system, "unleased", h2, 80, lease=False)
    last = int(system.events_service().list(max=1)[0].id)
    sim.inject({"kind": "host_crash", "target": "host02"})
    assert wait_status(leased, types.VmStatus.UP, timeout=60).host.id != h2.id
    sim.advance(600)
    assert unleased.get().status == types.VmStatus.UNKNOWN
    codes = [e.code for e in events_since(system, last)]
    assert 9026 in codes and 9020 not in codes
    conn.close()


def test_storm_protection_skips_fencing(sim):
    conn = sim.connection()
    system = conn.system_service()
    for name in ("host01", "host02", "host03"):
        setup_pm(system, name)
    cluster = system.clusters_service().list()[0]
    system.clusters_service().cluster_service(cluster.id).update(types.Cluster(fencing_policy=types.FencingPolicy(
        enabled=True, skip_if_connectivity_broken=types.SkipIfConnectivityBroken(enabled=True, threshold=50))))
    last = int(system.events_service().list(max=1)[0].id)
    sim.inject({"kind": "host_crash", "target": "host01"})
    sim.inject({"kind": "host_crash", "target": "host02"})
    poll(lambda: [e.code for e in events_since(system, last)], lambda c: c.count(9028) == 2, timeout=30)
    codes = [e.code for e in events_since(system, last)]
    assert 9020 not in codes and 9018 not in codes
    assert host(system, "host01").status == types.HostStatus.NON_RESPONSIVE
    conn.close()


def test_wrong_bmc_password_fence_fails_lease_vm_restarts(sim):
    conn = sim.connection()
    system = conn.system_service()
    h2 = setup_pm(system, "host02", password="wrong")
    leased = start_on(system, "leased", h2, 50, lease=True)
    other = start_on(system, "other", h2, 60, lease=False)
    last = int(system.events_service().list(max=1)[0].id)
    sim.inject({"kind": "host_crash", "target": "host02"})
    assert wait_status(leased, types.VmStatus.UP, timeout=60).host.id != h2.id
    evs = events_since(system, last)
    failed = [e for e in evs if e.code == 9019]
    assert failed and "bmc-host02.example.test" in failed[0].description
    assert other.get().status == types.VmStatus.UNKNOWN
    conn.close()


def test_network_only_failure_with_skip_if_sd_active(sim):
    conn = sim.connection()
    system = conn.system_service()
    h2 = setup_pm(system, "host02")
    cluster = system.clusters_service().list()[0]
    system.clusters_service().cluster_service(cluster.id).update(types.Cluster(fencing_policy=types.FencingPolicy(
        enabled=True, skip_if_sd_active=types.SkipIfSdActive(enabled=True))))
    leased = start_on(system, "leased", h2, 50, lease=True)
    last = int(system.events_service().list(max=1)[0].id)
    sim.inject({"kind": "host_crash", "target": "host02", "network_only": True})
    poll(lambda: [e.code for e in events_since(system, last)], lambda c: 9029 in c, timeout=30)
    sim.advance(600)
    assert leased.get().status == types.VmStatus.UNKNOWN  # still running there, holding its lease
    conn.close()
