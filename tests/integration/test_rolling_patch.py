# SPDX-License-Identifier: GPL-3.0-or-later
"""Rolling patch of 12 hosts and 240 VMs in the simulator, judged from the simulator's state history."""

import json
import os
import sys
import threading
import time

import pytest

from tests.integration.harness import run_playbook
from tests.support.capacity import RUNNING, intervals, violations
from tests.support.collection import REPO
from tests.support.sli_history import seed

PLAYBOOK = os.path.join(REPO, "playbooks", "patch_hosts.yml")
FAST = {"rolling_patch_poll_interval": 1}


@pytest.fixture
def estate(patch_estate):
    return patch_estate


def hosts(sim):
    return dict((h["name"], h) for h in sim.state()["hosts"])


def test_check_mode_prints_the_plan_and_sends_nothing(estate):
    run = run_playbook(estate, PLAYBOOK, check=True)
    assert run.rc == 0, run.stdout[-3000:]
    plan = run.results("Plan the roll")[0]
    assert plan["batches"][0] == ["host02"]                       # the canary
    assert plan["batches"][-1] == ["host01"]                      # the SPM last
    assert plan["batch_size"] == 5 and len(plan["batches"]) == 4
    assert len(plan["vms_up"]) == 240 and run.results("Report")[0]["ansible_facts"]["rolling_patch_report"][
        "vms_not_running"] == {}
    assert run.mutating() == []
    assert all(h["update_available"] for h in hosts(estate).values())


def test_roll_keeps_capacity_and_every_vm_running(estate):
    before = estate.state()
    mark = len(estate.history())
    running_before = set(v["name"] for v in before["vms"] if v["status"] == "up")
    run = run_playbook(estate, PLAYBOOK, extra_vars=FAST, timeout=1500)
    assert run.rc == 0, run.stdout[-4000:]
    after = estate.state()
    assert not [h["name"] for h in after["hosts"] if h["update_available"] or h["status"] != "up"]
    assert running_before == set(v["name"] for v in after["vms"] if v["status"] == "up")
    history = estate.history(mark)
    assert violations(before, history) == []
    # Pinned VMs are down only while their own host is out.
    conn = estate.connection()
    try:
        pinned = [(v.id, v.name, v.host.id) for v in conn.system_service().vms_service().list()
                  if v.placement_policy.affinity.value == "pinned"]
    finally:
        conn.close()
    assert len(pinned) == 4
    for vid, name, hid in pinned:
        vm_down = intervals(history, "vm", vid, lambda s: s not in RUNNING or s == "powering_down")
        host_out = intervals(history, "host", hid, lambda s: s != "up")
        assert len(vm_down) == 1 and len(host_out) == 1, (name, vm_down, host_out)
        (d0, d1), (h0, h1) = vm_down[0], host_out[0]
        assert d0 <= h0 and d1 >= h1, (name, vm_down, host_out)
        others = [intervals(history, "host", h["id"], lambda s: s != "up") for h in before["hosts"] if h["id"] != hid]
        overlap = [o for iv in others for o in iv if o[0] < d0 and o[1] > d1]
        assert not overlap, "%s was down through another host's whole patch window" % name

    again = run_playbook(estate, PLAYBOOK, extra_vars=FAST)
    assert again.rc == 0 and again.mutating() == []


def test_upgrade_failure_on_the_third_host_stops_and_resumes(estate):
    estate.inject({"kind": "upgrade_failure", "target": "host04"})
    serial = dict(FAST, rolling_patch_max_batch=1)
    run = run_playbook(estate, PLAYBOOK, extra_vars=serial, timeout=1500)
    assert run.rc != 0
    report = run.results("Show the report")[0]["rolling_patch_report"]
    assert report["stopped"] and "host04" in report["reason"] and "event 841" in report["reason"]
    assert report["patched"] == ["host02", "host03"]
    assert report["hosts"]["host04"] == "up" and report["vms_not_running"] == {}
    assert sorted(report["restarted_vms"]) == ["app002", "app014"]        # host03's pinned VMs, after host03
    h = hosts(estate)
    assert h["host04"]["status"] == "up" and h["host04"]["update_available"]
    untouched = ["host%02d" % i for i in range(5, 13)] + ["host01"]
    assert all(h[n]["update_available"] and h[n]["status"] == "up" for n in untouched)
    assert all(v["status"] == "up" for v in estate.state()["vms"])   # the pinned VMs of host03 are back
    resumed = run_playbook(estate, PLAYBOOK, extra_vars=FAST, timeout=1500)
    assert resumed.rc == 0, resumed.stdout[-3000:]
    plan = resumed.results("Plan the roll")[0]
    assert plan["batches"][0] == ["host04"] and "host02" in plan["up_to_date"] and "host03" in plan["up_to_date"]
    assert not [n for n, x in hosts(estate).items() if x["update_available"]]


def test_vm_that_cannot_migrate_stops_maintenance_with_the_vm_named(estate):
    estate.inject({"kind": "migration_failure", "target": "app001"})     # app001 runs on the canary, host02
    run = run_playbook(estate, PLAYBOOK, extra_vars=FAST, timeout=900)
    assert run.rc != 0
    report = run.results("Show the report")[0]["rolling_patch_report"]
    assert "app001" in report["reason"] and report["patched"] == []
    assert hosts(estate)["host02"]["status"] == "up" and report["vms_not_running"] == {}
    assert all(h["update_available"] for h in hosts(estate).values())


def test_host_that_does_not_come_back_is_reported_and_nothing_else_is_touched(estate):
    estate.inject({"kind": "host_not_returning", "target": "host02"})
    started = time.monotonic()
    run = run_playbook(estate, PLAYBOOK, extra_vars=FAST, timeout=900)
    assert run.rc != 0
    assert time.monotonic() - started < 120          # failed on the host's status, not at the 3600 s deadline
    report = run.results("Show the report")[0]["rolling_patch_report"]
    assert report["patched"] == [] and report["hosts_not_restored"] == ["host02"]
    assert report["hosts"]["host02"] == "non_responsive" and "host02" in report["reason"]
    others = [x for n, x in hosts(estate).items() if n != "host02"]
    assert all(x["status"] == "up" and x["update_available"] for x in others)
    assert report["vms_not_running"] == {}              # host02 was drained before the upgrade


def test_spent_budget_between_batches_stops_the_roll(estate, tmp_path):
    ledger = str(tmp_path / "sli.sqlite")
    seed(ledger, time.time())
    env = {"SRE_OVIRT_SLO_POLICY": json.dumps({"ledger_path": ledger, "cache_ttl": 0})}

    def outage():
        # As soon as the canary is patched, two hours of VM downtime land in the ledger.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if not hosts(estate)["host02"]["update_available"]:
                import sqlite3
                db = sqlite3.connect(ledger)
                now = time.time()
                rows = [("vm_up", 0.0, now - 7200 + i * 60, 60.0) for i in range(120)]
                db.executemany("INSERT INTO samples (measurement, value, t, weight) VALUES (?, ?, ?, ?)", rows)
                db.executemany("INSERT INTO rollup (measurement, value, t, weight) VALUES (?, ?, ?, ?) "
                               "ON CONFLICT (measurement, t, value) DO UPDATE SET weight = weight + excluded.weight",
                               [(m, v, (t // 60) * 60, w) for m, v, t, w in rows])
                db.commit()
                db.close()
                return
            time.sleep(0.2)

    watcher = threading.Thread(target=outage)
    watcher.start()
    run = run_playbook(estate, PLAYBOOK, extra_vars=FAST, env=env, timeout=900)
    watcher.join()
    assert run.rc != 0
    report = run.results("Show the report")[0]["rolling_patch_report"]
    assert report["patched"] == ["host02"]
    assert "SLO gate" in report["reason"] and "vm-availability" in report["reason"]
    assert all(h["status"] == "up" for h in hosts(estate).values())
    # The canary's durations went to the SLI ledger: maintenance, upgrade, and one row per VM migrated off it.
    import sqlite3
    db = sqlite3.connect(ledger)
    rows = dict(((m, s), n) for m, s, n in db.execute(
        "SELECT measurement, subject, count(*) FROM samples WHERE measurement IN "
        "('host_maintenance_seconds', 'host_upgrade_seconds') GROUP BY measurement, subject"))
    migrations = db.execute("SELECT count(*) FROM samples WHERE measurement = 'vm_migration_seconds' "
                            "AND source_id LIKE 'event:%'").fetchone()[0]
    db.close()
    drained = [r for r in run.results("Wait for the hosts to drain") if "migrated_vms" in r][0]
    assert rows == {("host_maintenance_seconds", "host02"): 1, ("host_upgrade_seconds", "host02"): 1}
    assert migrations == len(drained["migrated_vms"]) > 0


def test_package_method_updates_each_host_in_maintenance_over_its_own_connection(estate, tmp_path):
    # The user's inventory names the hypervisors; here each is reached with a local connection, and the
    # "package update" records the host's status in the Engine when it ran.
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[hypervisors]\n" + "".join(
        "host%02d ansible_connection=local ansible_python_interpreter=%s\n" % (i, sys.executable)
        for i in range(1, 13)))
    log = tmp_path / "updates.log"
    script = os.path.join(REPO, "tests", "support", "fake_package_update.py")
    command = "%s %s %s %s" % (sys.executable, script, estate.admin_url, log)
    env = {"SIM_AUTH": estate._auth, "SIM_CA_FILE": estate.ca_file}
    run = run_playbook(estate, PLAYBOOK, extra_args=["-i", str(inventory)], env=env, timeout=900,
                       extra_vars=dict(FAST, rolling_patch_method="package", rolling_patch_package_command=command))
    assert run.rc == 0, run.stdout[-3000:]
    lines = log.read_text().split()
    ran = dict(zip(lines[0::2], lines[1::2]))
    assert ran == dict(("host%02d" % i, "maintenance") for i in range(1, 13))
    assert not [r for r in run.requests if r["method"] == "POST" and r["path"].endswith("/upgrade")]
    assert not [n for n, h in hosts(estate).items() if h["update_available"] or h["status"] != "up"]
    again = run_playbook(estate, PLAYBOOK, extra_args=["-i", str(inventory)], env=env, extra_vars=FAST)
    assert again.rc == 0 and again.mutating() == []
