# SPDX-License-Identifier: GPL-3.0-or-later
"""HA end to end with ansible-playbook: fencing_setup.yml, ha_setup.yml and ha_drill.yml against the simulator."""

import os

from ovirtsdk4 import types

from ovirt_engine_sim.testing import wait_status
from tests.integration.harness import run_playbook
from tests.support.collection import REPO

PB = os.path.join(REPO, "playbooks")
# name: (host, tier) - six VMs on three hosts, mixed priorities and leases.
FLEET = {"db01": ("host02", "gold"), "app01": ("host02", "silver"), "cache01": ("host02", "bronze-lease"),
         "batch01": ("host02", None), "web01": ("host01", "silver"), "web02": ("host03", "gold")}
HA_VARS = {
    "ha_policy_tiers": {
        "gold": {"high_availability": True, "priority": 100, "lease": "data-nfs", "resume_behavior": "kill"},
        "silver": {"high_availability": True, "priority": 50},
        "bronze-lease": {"high_availability": True, "priority": 10, "lease": "data-nfs"},
        "none": {"high_availability": False}},
    "ha_policy_assignments": [{"tier": "gold", "names": ["db*", "web02"]}, {"tier": "silver", "names": ["app*", "web01"]},
                              {"tier": "bronze-lease", "names": ["cache*"]}, {"tier": "none", "names": ["batch*"]}],
}
FENCING_VARS = {"fencing_agents": [{"type": "ipmilan", "address": "bmc-{host}.example.test",
                                    "username": "admin", "password": "calvin"}]}


def place_fleet(sim):
    conn = sim.connection()
    try:
        system = conn.system_service()
        hosts = dict((h.name, h.id) for h in system.hosts_service().list())
        vms = system.vms_service()
        for name, (host, _tier) in FLEET.items():
            vm = vms.add(types.Vm(name=name, cluster=types.Cluster(name="Default"), memory=4 * 2**30,
                                  template=types.Template(name="centos9-template")))
            svc = vms.vm_service(vm.id)
            wait_status(svc, types.VmStatus.DOWN)
            svc.start(vm=types.Vm(placement_policy=types.VmPlacementPolicy(hosts=[types.Host(id=hosts[host])])))
        for name in FLEET:
            wait_status(vms.vm_service(vms.list(search="name=%s" % name)[0].id), types.VmStatus.UP)
    finally:
        conn.close()


def drill(sim, **extra):
    run = run_playbook(sim, os.path.join(PB, "ha_drill.yml"), extra_vars=extra)
    outcome = run.results("Report")[0].get("ha_drill_outcome") if run.results("Report") else None
    return run, outcome


def test_drill_fenced_host_ha_vms_back_in_predicted_order(fresh_sim):
    place_fleet(fresh_sim)
    for pb, extra in (("fencing_setup.yml", FENCING_VARS), ("ha_setup.yml", HA_VARS)):
        run = run_playbook(fresh_sim, os.path.join(PB, pb), extra_vars=extra)
        assert run.rc == 0, run.stdout[-3000:]
        again = run_playbook(fresh_sim, os.path.join(PB, pb), extra_vars=extra)
        assert again.rc == 0 and again.mutating() == [], [r["path"] for r in again.mutating()]
    report = run.results("Would HA work now?")[0]
    pred = [p for p in report["predictions"] if p["host"] == "host02"][0]
    assert pred["fenced"] and [r["vm"] for r in pred["restart_order"]] == ["db01", "app01", "cache01"]
    assert pred["stay_down"] == ["batch01"]

    run, outcome = drill(fresh_sim)
    assert run.rc == 0, run.stdout[-4000:]
    assert outcome["restarted_order"] == ["db01", "app01", "cache01"] == outcome["predicted_order"]
    assert outcome["down"] == ["batch01"]
    assert any("using Proxy Host" in e for e in outcome["fence_events"])
    state = dict((v["name"], v) for v in fresh_sim.state()["vms"])
    host02 = [h["id"] for h in fresh_sim.state()["hosts"] if h["name"] == "host02"][0]
    for name in ("db01", "app01", "cache01"):
        assert state[name]["status"] == "up" and state[name]["host"] != host02
    assert state["batch01"]["status"] == "down"


def test_drill_with_fencing_disabled_leases_restart_others_stay_down(fresh_sim):
    place_fleet(fresh_sim)
    no_fencing = dict(FENCING_VARS, fencing_policy={"enabled": False})
    for pb, extra in (("fencing_setup.yml", no_fencing), ("ha_setup.yml", HA_VARS)):
        run = run_playbook(fresh_sim, os.path.join(PB, pb), extra_vars=extra)
        assert run.rc == 0, run.stdout[-3000:]
    # Power management works, but the cluster policy forbids fencing: ha_report warns that the HA VM without a
    # lease would stay down.
    report = run.results("Would HA work now?")[0]
    assert any("app01 would stay down" in w for w in report["problems"])
    pred = [p for p in report["predictions"] if p["host"] == "host02"][0]
    assert not pred["fenced"]
    assert [r["vm"] for r in pred["restart_order"]] == ["db01", "cache01"]
    assert pred["stay_down"] == ["app01", "batch01"]
    run, outcome = drill(fresh_sim)
    assert run.rc == 0, run.stdout[-4000:]
    assert outcome["restarted_order"] == ["db01", "cache01"]
    assert outcome["down"] == ["app01", "batch01"]
    assert any("not restarted: fencing is disabled" in e for e in outcome["fence_events"])


def test_storm_no_fencing_and_host_fence_refuses(fresh_sim):
    place_fleet(fresh_sim)
    for pb, extra in (("fencing_setup.yml", FENCING_VARS), ("ha_setup.yml", HA_VARS)):
        assert run_playbook(fresh_sim, os.path.join(PB, pb), extra_vars=extra).rc == 0
    mark = fresh_sim.requests()[-1]["seq"]
    fresh_sim.inject({"kind": "host_crash", "target": "host01"})
    fresh_sim.inject({"kind": "host_crash", "target": "host02"})
    fresh_sim.advance(120)
    fence = {"name": "Fence", "sre.ovirt.host_fence": {"host": "host02", "action": "restart"}}
    play = [{"name": "fence", "hosts": "localhost", "gather_facts": False, "tasks": [fence]}]
    run = run_playbook(fresh_sim, play)
    res = run.results("Fence")[0]
    assert run.rc != 0 and "storm limit" in res["msg"] and "host01" in res["msg"]
    assert run.mutating() == []
    conn = fresh_sim.connection()
    try:
        codes = [e.code for e in conn.system_service().events_service().list(search="type=9028 or type=9018")]
    finally:
        conn.close()
    assert codes.count(9028) == 2 and 9018 not in codes
    assert [r for r in fresh_sim.requests(mark) if "/fence" in r["path"]] == []
