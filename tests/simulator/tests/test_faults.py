# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault injection through the admin API drives what SDK clients see."""

import ovirtsdk4 as sdk
from ovirtsdk4 import types
import pytest

from ovirt_engine_sim.testing import poll, wait_status


def _new_vm(system, name, ha=False, host=None):
    vms = system.vms_service()
    vm = vms.add(types.Vm(name=name, cluster=types.Cluster(name="Default"),
                          template=types.Template(name="centos9-template"),
                          high_availability=types.HighAvailability(enabled=ha, priority=50 if ha else 0)))
    svc = vms.vm_service(vm.id)
    wait_status(svc, types.VmStatus.DOWN)
    pin = types.Vm(placement_policy=types.VmPlacementPolicy(hosts=[types.Host(id=host.id)])) if host else None
    svc.start(vm=pin) if pin else svc.start()
    wait_status(svc, types.VmStatus.UP)
    return svc


def test_host_crash_makes_it_non_responsive_and_recover(system, engine_sim):
    host = system.hosts_service().list(search="name=host03")[0]
    vm = _new_vm(system, "crash01", host=host)
    engine_sim.inject({"kind": "host_crash", "target": "host03"})
    hsvc = system.hosts_service().host_service(host.id)
    assert hsvc.get().status == types.HostStatus.NON_RESPONSIVE
    assert vm.get().status == types.VmStatus.UNKNOWN
    assert [h.name for h in system.hosts_service().list(search="status=nonresponsive")] == ["host03"]
    engine_sim.inject({"kind": "host_recover", "target": "host03"})
    wait_status(hsvc, types.HostStatus.UP)
    assert vm.get().status == types.VmStatus.UP
    vm.stop()


def test_ha_vm_crash_is_restarted_with_events(system, engine_sim):
    vm = _new_vm(system, "havm01", ha=True)
    last = int(system.events_service().list(max=1)[0].id)
    engine_sim.inject({"kind": "vm_crash", "target": "havm01"})
    poll(lambda: [e.code for e in system.events_service().list(from_=last)], lambda codes: 506 in codes)
    codes = [e.code for e in system.events_service().list(from_=last)]
    assert 9602 in codes
    assert vm.get().status == types.VmStatus.UP


def test_non_ha_vm_crash_stays_down(system, engine_sim):
    vm = _new_vm(system, "plain01")
    engine_sim.inject({"kind": "vm_crash", "target": "plain01"})
    assert wait_status(vm, types.VmStatus.DOWN).status == types.VmStatus.DOWN
    engine_sim.advance(600)
    assert vm.get().status == types.VmStatus.DOWN


def test_migration_failure_emits_65_and_vm_stays(system, engine_sim):
    vm = _new_vm(system, "migfail01")
    source = vm.get().host.id
    engine_sim.inject({"kind": "migration_failure", "target": "migfail01"})
    last = int(system.events_service().list(max=1)[0].id)
    vm.migrate()
    poll(lambda: [e.code for e in system.events_service().list(from_=last)], lambda codes: 65 in codes)
    got = wait_status(vm, types.VmStatus.UP)
    assert got.host.id == source
    vm.stop()


def test_storage_inactive_pauses_vms(system, engine_sim):
    vm = _new_vm(system, "io01")
    engine_sim.inject({"kind": "storage_inactive", "target": "data-nfs"})
    try:
        sd = system.storage_domains_service().list(search="name=data-nfs")[0]
        dc = system.data_centers_service().list()[0]
        attached = system.data_centers_service().data_center_service(dc.id).storage_domains_service()
        assert attached.storage_domain_service(sd.id).get().status == types.StorageDomainStatus.INACTIVE
        assert vm.get().status == types.VmStatus.PAUSED
    finally:
        engine_sim.inject({"kind": "storage_active", "target": "data-nfs"})


def test_503_share_is_visible_in_the_request_log(engine_sim):
    engine_sim.reset_requests()
    engine_sim.inject({"kind": "http_status", "status": 503, "share": 0.5, "path": "/vms"})
    conn = engine_sim.connection()
    vms = conn.system_service().vms_service()
    ok = failed = 0
    try:
        for _attempt in range(60):
            try:
                vms.list(max=1)
                ok += 1
            except sdk.Error as exc:
                # Like the Engine's Apache front end: a 503 page in HTML, which the SDK cannot parse.
                assert exc.code == 503 or "text/html" in str(exc)
                failed += 1
    finally:
        engine_sim.clear_faults()
        conn.close()
    log = [r for r in engine_sim.api_requests() if r["path"].endswith("/vms")]
    assert len(log) == 60
    assert sum(r["status"] == 503 for r in log) == failed
    assert 10 <= failed <= 50, (ok, failed)


def test_dropped_connection_after_processing(engine_sim):
    engine_sim.inject({"kind": "drop_connection", "when": "after", "count": 1, "methods": ["POST"],
                       "path": "/tags$"})
    conn = engine_sim.connection()
    tags = conn.system_service().tags_service()
    try:
        with pytest.raises(sdk.Error):
            tags.add(types.Tag(name="dropped"))
        # The Engine did the work even though the client never saw the answer.
        assert "dropped" in [t.name for t in tags.list()]
    finally:
        engine_sim.clear_faults()
        conn.close()


def test_unknown_fault_kind_is_rejected(engine_sim):
    from ovirt_engine_sim.testing import AdminError
    with pytest.raises(AdminError) as err:
        engine_sim.inject({"kind": "meteor"})
    assert "host_crash" in str(err.value) and "400" in str(err.value)


def test_metrics_endpoint_shows_crashed_vms_down_and_user_stops_absent(system, engine_sim):
    import ssl
    import urllib.request
    crashed = _new_vm(system, "metric-crash")
    stopped = _new_vm(system, "metric-stop")
    engine_sim.inject({"kind": "vm_crash", "target": "metric-crash"})
    stopped.stop()
    wait_status(crashed, types.VmStatus.DOWN)
    wait_status(stopped, types.VmStatus.DOWN)
    ctx = ssl.create_default_context(cafile=engine_sim.ca_file)
    with urllib.request.urlopen(engine_sim.admin_url + "/metrics", context=ctx, timeout=10) as resp:
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = resp.read().decode()
    assert 'sre_ovirt_vm_up{vm="metric-crash",cluster="Default"} 0' in text
    assert 'vm="metric-stop"' not in text
    assert 'sre_ovirt_host_up{host="host01",cluster="Default",status="up"} 1' in text


def test_upgrade_failure_emits_841_and_host_stays_in_maintenance(system, engine_sim):
    host = system.hosts_service().list(search="name=host02")[0]
    hsvc = system.hosts_service().host_service(host.id)
    engine_sim.admin("POST", "hosts/host02", {"update_available": True})
    for vm in system.vms_service().list(search="host=host02"):  # left running (or paused) by earlier tests
        system.vms_service().vm_service(vm.id).stop()
    hsvc.upgrade_check()
    poll(hsvc.get, lambda h: h.update_available)
    engine_sim.inject({"kind": "upgrade_failure", "target": "host02"})
    last = int(system.events_service().list(max=1)[0].id)
    hsvc.deactivate()
    wait_status(hsvc, types.HostStatus.MAINTENANCE)
    hsvc.upgrade(reboot=True)
    poll(lambda: [e.code for e in system.events_service().list(from_=last) if e.host and e.host.id == host.id],
         lambda codes: 841 in codes, timeout=60)
    got = poll(hsvc.get, lambda h: h.status != types.HostStatus.INSTALLING, timeout=30)
    assert got.status in (types.HostStatus.INSTALL_FAILED, types.HostStatus.MAINTENANCE)
    assert got.update_available
    hsvc.activate()
    wait_status(hsvc, types.HostStatus.UP)


def test_api_latency_fault_delays_answers(engine_sim):
    import time
    conn = engine_sim.connection()
    hosts = conn.system_service().hosts_service()
    hosts.list(max=1)
    engine_sim.inject({"kind": "latency", "delay_ms": 300, "share": 1.0, "path": "/hosts"})
    try:
        t0 = time.monotonic()
        hosts.list(max=1)
        slow = time.monotonic() - t0
    finally:
        engine_sim.clear_faults()
        conn.close()
    assert slow >= 0.3
    logged = [r for r in engine_sim.api_requests() if r["path"].endswith("/hosts")][-1]
    assert logged["duration_ms"] >= 300


def test_enforcing_negative_affinity_keeps_vms_apart(system):
    cluster = system.clusters_service().list(search="name=Default")[0]
    groups = system.clusters_service().cluster_service(cluster.id).affinity_groups_service()
    vms = system.vms_service()
    made = []
    for name in ("anti1", "anti2", "anti3"):
        vm = vms.add(types.Vm(name=name, cluster=types.Cluster(name="Default"),
                              template=types.Template(name="centos9-template")))
        wait_status(vms.vm_service(vm.id), types.VmStatus.DOWN)
        made.append(vm)
    group = groups.add(types.AffinityGroup(name="spread", positive=False, enforcing=True,
                                           vms=[types.Vm(id=v.id) for v in made]))
    for vm in made:
        vms.vm_service(vm.id).start()
    hosts = [wait_status(vms.vm_service(v.id), types.VmStatus.UP).host.id for v in made]
    assert len(set(hosts)) == 3, "an enforcing negative affinity group must put each VM on its own host"
    fourth = vms.add(types.Vm(name="anti4", cluster=types.Cluster(name="Default"),
                              template=types.Template(name="centos9-template")))
    wait_status(vms.vm_service(fourth.id), types.VmStatus.DOWN)
    groups.group_service(group.id).vms_service().add(types.Vm(id=fourth.id))
    with pytest.raises(sdk.Error) as err:
        vms.vm_service(fourth.id).start()
    assert err.value.code == 409 and "affinity" in str(err.value).lower()
    for vm in made:
        vms.vm_service(vm.id).stop()
