# SPDX-License-Identifier: GPL-3.0-or-later
"""HA modules against the simulator: each in check mode, for real, and again for idempotency."""

import json

from tests.integration.harness import run_playbook

PASSWORD = "calvin-the-bmc-secret"


def play(*tasks):
    return [{"name": "ha", "hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}]


def three_ways(sim, plays):
    """check mode, real, real again: returns the three runs."""
    check = run_playbook(sim, plays, check=True, diff=True)
    real = run_playbook(sim, plays, diff=True)
    again = run_playbook(sim, plays, diff=True)
    for run in (check, real, again):
        assert run.rc == 0, run.stdout[-3000:]
    assert check.mutating() == []
    assert again.changed == 0 and again.mutating() == [], json.dumps(again.data)[-1500:]
    return check, real, again


def test_host_power_management_exact_verified_and_secret(fresh_sim):
    fresh_sim.admin("POST", "hosts/host01", {"bmc": {"password": PASSWORD}})
    task = {"name": "PM", "sre.ovirt.host_power_management": {
        "host": "host01", "agents": [{"type": "ipmilan", "address": "bmc-host01.example.test",
                                      "username": "admin", "password": PASSWORD, "options": {"lanplus": 1}}]}}
    check, real, again = three_ways(fresh_sim, play(task))
    res = real.results("PM")[0]
    assert res["changed"] and res["verified"] and res["power_management"]["status"] == "on"
    assert check.results("PM")[0]["changed"]
    for run in (check, real, again):
        assert PASSWORD not in run.stdout + run.stderr + json.dumps(run.data)
    verbose = run_playbook(fresh_sim, play(task), verbosity=3, callback="default")
    assert PASSWORD not in verbose.stdout + verbose.stderr


def test_wrong_bmc_password_fails_naming_host_and_agent_and_pm_is_left_off(fresh_sim):
    task = {"name": "PM", "sre.ovirt.host_power_management": {
        "host": "host02", "agents": [{"type": "ipmilan", "address": "bmc-host02.example.test",
                                      "username": "admin", "password": "not-the-password"}]}}
    run = run_playbook(fresh_sim, play(task))
    res = run.results("PM")[0]
    assert run.rc != 0 and res["failed"]
    assert "host02" in res["msg"] and "ipmilan at bmc-host02.example.test" in res["msg"]
    assert "not-the-password" not in run.stdout + json.dumps(run.data)
    conn = fresh_sim.connection()
    try:
        host = conn.system_service().hosts_service().list(search="name=host02")[0]
        assert not host.power_management.enabled
    finally:
        conn.close()


def test_vm_ha_and_cluster_ha(fresh_sim):
    vm_args = {"name": "{{ item }}", "template": "centos9-template", "cluster": "Default", "memory": "1GiB",
               "state": "running"}
    setup = play({"name": "VMs", "sre.ovirt.vm": vm_args, "loop": ["db01", "db02"]})
    assert run_playbook(fresh_sim, setup).rc == 0
    cluster = {"name": "Cluster", "sre.ovirt.cluster_ha": {
        "name": "Default", "on_error": "migrate_highly_available",
        "fencing": {"enabled": True, "skip_if_sd_active": True, "skip_if_connectivity_broken": True,
                    "connectivity_threshold": 50},
        "affinity_groups": [{"name": "db-apart", "positive": False, "enforcing": True, "vms": ["db01", "db02"]}]}}
    check, real, again = three_ways(fresh_sim, play(cluster))
    assert real.results("Cluster")[0]["cluster"]["fencing"]["connectivity_threshold"] == 50
    ha_args = {"name": "db01", "high_availability": True, "priority": 100, "lease": "data-nfs",
               "resume_behavior": "kill", "affinity_groups": ["db-apart"]}
    vm = {"name": "VM", "sre.ovirt.vm_ha": ha_args}
    check, real, again = three_ways(fresh_sim, play(vm))
    ha = real.results("VM")[0]["ha"]
    assert ha["lease"] == "data-nfs" and ha["priority"] == 100
    conn = fresh_sim.connection()
    try:
        got = conn.system_service().vms_service().list(search="name=db01")[0]
        assert got.high_availability.enabled and got.high_availability.priority == 100
        assert got.lease is not None and got.storage_error_resume_behaviour.value == "kill"
    finally:
        conn.close()
    # Remove the lease again.
    drop = {"name": "VM", "sre.ovirt.vm_ha": {"name": "db01", "lease": ""}}
    check, real, again = three_ways(fresh_sim, play(drop))
    assert real.results("VM")[0]["ha"]["lease"] is None


def test_bad_input_names_the_field(fresh_sim):
    run = run_playbook(fresh_sim, play({"name": "VM", "sre.ovirt.vm_ha": {"name": "nope", "priority": 500}}))
    assert run.rc != 0 and "priority" in run.results("VM")[0]["msg"]
    run = run_playbook(fresh_sim, play({"name": "C", "sre.ovirt.cluster_ha": {
        "name": "Default", "fencing": {"connectivity_threshold": 150}}}))
    assert run.rc != 0 and "fencing.connectivity_threshold" in run.results("C")[0]["msg"]
    assert run.mutating() == []
