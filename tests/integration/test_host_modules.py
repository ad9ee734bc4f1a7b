# SPDX-License-Identifier: GPL-3.0-or-later
"""Host patching modules one by one against the simulator's patch seed: check mode, for real, again."""

import pytest

from tests.integration.harness import run_playbook


@pytest.fixture
def estate(shared_patch_estate):
    return shared_patch_estate


def play(*tasks):
    return [{"name": "hosts", "hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}]


def task(name, module, **args):
    return {"name": name, module: dict(args, poll_interval=1)}


def host(sim, name):
    return [h for h in sim.state()["hosts"] if h["name"] == name][0]


def three_ways(sim, plays, name):
    check = run_playbook(sim, plays, check=True, diff=True)
    real = run_playbook(sim, plays, diff=True)
    again = run_playbook(sim, plays, diff=True)
    for run in (check, real, again):
        assert run.rc == 0, run.stdout[-3000:]
    assert check.mutating() == [] and check.results(name)[0]["changed"]
    assert real.results(name)[0]["changed"]
    assert again.changed == 0 and again.mutating() == []
    return check.results(name)[0], real.results(name)[0], again.results(name)[0]


def test_maintenance_and_back_with_the_pinned_vms(estate):
    drain = play(task("Drain", "sre.ovirt.host_maintenance", host="host03", stop_pinned=True))
    check, real, _again = three_ways(estate, drain, "Drain")
    assert check["diff"] == {"before": {"status": "up"}, "after": {"status": "maintenance"}}
    assert check["stopped_vms"] == real["stopped_vms"] == ["app002", "app014"]
    assert len(real["migrated_vms"]) > 0 and real["host_status"] == "maintenance"
    assert host(estate, "host03")["status"] == "maintenance"
    back = play(task("Back", "sre.ovirt.host_maintenance", host="host03", state="active", probe=True,
                     start_vms=["app002", "app014"]))
    check, real, _again = three_ways(estate, back, "Back")
    assert check["started_vms"] == real["started_vms"] == ["app002", "app014"]
    assert real["host_status"] == "up" and "probe_vm" not in real      # its pinned VMs run there: proof enough
    vms = dict((v["name"], v) for v in estate.state()["vms"])
    assert vms["app002"]["status"] == "up" and vms["app002"]["host"] == host(estate, "host03")["id"]


def test_an_empty_host_is_proven_by_a_vm_migrated_onto_it(estate):
    run = run_playbook(estate, play(task("Drain", "sre.ovirt.host_maintenance", host="host05"),
                                    task("Back", "sre.ovirt.host_maintenance", host="host05", state="active",
                                         probe=True)))
    assert run.rc == 0, run.stdout[-3000:]
    probe = run.results("Back")[0]["probe_vm"]
    vms = dict((v["name"], v) for v in estate.state()["vms"])
    assert vms[probe]["status"] == "up" and vms[probe]["host"] == host(estate, "host05")["id"]


def test_pinned_vms_refuse_maintenance_before_anything_is_sent(estate):
    run = run_playbook(estate, play(task("Drain", "sre.ovirt.host_maintenance", host="host07")))
    res = run.results("Drain")[0]
    assert run.rc != 0 and "app006" in res["msg"] and "stop_pinned" in res["msg"]
    assert run.mutating() == [] and host(estate, "host07")["status"] == "up"


def test_unknown_names_are_named(estate):
    run = run_playbook(estate, play(task("Drain", "sre.ovirt.host_maintenance", host="host99")))
    assert run.rc != 0 and run.results("Drain")[0]["msg"] == "host: no host named host99"
    run = run_playbook(estate, play(task("Up", "sre.ovirt.host_maintenance", host="host05", state="active",
                                         start_vms=["nope"])))
    assert run.rc != 0 and run.results("Up")[0]["msg"] == "start_vms: no VM named nope"
    assert run.mutating() == []


def test_upgrade_check_mode_then_real_then_nothing_left(estate):
    up = play(task("Upgrade", "sre.ovirt.host_upgrade", host="host06", reboot=True))
    check, real, again = three_ways(estate, up, "Upgrade")
    assert check["update_available"] and check["host_status"] == "up"
    codes = [e["code"] for e in real["events"]]
    # The Engine drains the host, upgrades and reboots it, then (it was up) monitoring brings it back up.
    assert 841 not in codes and codes.index(840) < codes.index(842) and real["update_available"] is False
    assert real["host_status"] == "up" and host(estate, "host06")["status"] == "up"
    assert again["update_available"] is False
    assert not host(estate, "host06")["update_available"]


def test_update_check_reports_what_the_engine_found(estate):
    estate.admin("POST", "hosts/host08", {"update_available": False})
    run = run_playbook(estate, play(task("Check", "sre.ovirt.host_upgrade", host="host08", action="check")))
    res = run.results("Check")[0]
    assert run.rc == 0 and res["update_available"] is False and [e["code"] for e in res["events"]][-1] == 885
    assert [r["path"].rsplit("/", 1)[-1] for r in run.mutating()] == ["upgradecheck"]


def test_upgrade_from_maintenance_leaves_the_host_in_maintenance(estate):
    run = run_playbook(estate, play(task("Drain", "sre.ovirt.host_maintenance", host="host09"),
                                    task("Upgrade", "sre.ovirt.host_upgrade", host="host09")))
    assert run.rc == 0, run.stdout[-3000:]
    res = run.results("Upgrade")[0]
    assert res["changed"] and res["host_status"] == "maintenance" and res["update_available"] is False
    assert 842 in [e["code"] for e in res["events"]]
    assert host(estate, "host09")["status"] == "maintenance" and not host(estate, "host09")["update_available"]
