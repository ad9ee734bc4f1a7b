# SPDX-License-Identifier: GPL-3.0-or-later
"""The SLO gate end to end with the SLI ledger as the source: a healthy history lets changes through; VM
downtime measured by sli_collect spends the availability budget and every change is refused before it
reaches the Engine; remediation and break-glass still run."""

import json
import os
import time

import pytest

from tests.integration.harness import run_playbook
from tests.support.collection import REPO
from tests.support.sli_history import seed

PLAYBOOK = os.path.join(REPO, "playbooks", "create_vm.yml")


def one_vm(name):
    return {"vm_provision_vms": [{"name": name, "template": "centos9-template", "cluster": "Default",
                                  "memory": "1GiB"}]}


def collect(sim, env, max_gap=900):
    run = run_playbook(sim, [{"name": "collect", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Sample", "sre.ovirt.sli_collect": {"max_gap": max_gap, "storage_disks": 2}}]}], env=env)
    assert run.rc == 0, run.stdout[-3000:]
    assert run.mutating() == []
    return run.results("Sample")[0]


def gate_task(**policy):
    return [{"name": "gate", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Gate", "sre.ovirt.slo_gate": {"slo_policy": policy} if policy else {}}]}]


@pytest.fixture
def ledger(tmp_path):
    return str(tmp_path / "sli.sqlite")


def policy_env(ledger, **extra):
    policy = {"ledger_path": ledger, "cache_ttl": 0}
    policy.update(extra)
    return {"SRE_OVIRT_SLO_POLICY": json.dumps(policy)}


def test_missing_data_fails_closed_naming_the_slo_and_where(fresh_sim, ledger):
    run = run_playbook(fresh_sim, PLAYBOOK, extra_vars=one_vm("nodata01"), env=policy_env(ledger))
    assert run.rc != 0
    gate = run.results("SLO gate")[0]
    assert gate["failed"] and not gate["slo_gate"]["passed"]
    assert "vm-availability has no data" in gate["msg"]
    assert ledger in gate["msg"] and "vm_up" in gate["msg"]
    assert run.mutating() == []


def test_budget_spent_refuses_every_change_but_remediation_and_break_glass(fresh_sim, ledger):
    now = time.time()
    seed(ledger, now)
    env = policy_env(ledger)

    # Healthy history: the playbook runs, its measurements (boot time, API latency) land in the ledger.
    ok = run_playbook(fresh_sim, PLAYBOOK, extra_vars=one_vm("app01"), env=env)
    assert ok.rc == 0, ok.stdout[-3000:]
    gate = ok.results("SLO gate")[0]["slo_gate"]
    assert gate["passed"] and gate["outcome"] == "pass"
    assert {s["slo"]: s["verdict"] for s in gate["slos"]} == {
        "vm-availability": "pass", "vm-boot-time": "pass", "vm-migration-time": "pass", "storage-latency": "pass",
        "engine-api-latency": "pass", "backup-freshness": "no_data"}     # optional: no VM protected yet, no block

    # VM downtime: app01 crashes (not HA) and stays down for 2 simulated hours, sampled by sli_collect.
    first = collect(fresh_sim, env)
    assert first["recorded"].get("vm_up", 0) >= 1
    fresh_sim.inject({"kind": "vm_crash", "target": "app01"})
    fresh_sim.advance(7200)
    second = collect(fresh_sim, env, max_gap=7200)
    assert second["vms_down"] == ["app01"]

    # --check: the gate reports the refusal naming the SLO, and nothing is sent.
    check = run_playbook(fresh_sim, PLAYBOOK, extra_vars=one_vm("app02"), env=env, check=True)
    assert check.rc != 0
    msg = check.results("SLO gate")[0]["msg"]
    assert "vm-availability" in msg and "budget spent" in msg
    assert check.mutating() == []

    # The real run is refused with zero mutating requests.
    real = run_playbook(fresh_sim, PLAYBOOK, extra_vars=one_vm("app02"), env=env)
    assert real.rc != 0 and real.mutating() == []
    assert "app02" not in [v["name"] for v in fresh_sim.state()["vms"]]

    # A vm task alone (no gate task in the play) is refused by the module itself, in check mode and for real.
    alone = [{"name": "alone", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "VM", "sre.ovirt.vm": {"name": "app03", "template": "centos9-template", "cluster": "Default"}}]}]
    for check_mode in (True, False):
        run = run_playbook(fresh_sim, alone, env=env, check=check_mode)
        res = run.results("VM")[0]
        assert run.rc != 0 and res["failed"] and "vm-availability" in res["msg"]
        assert ("would refuse" in res["msg"]) == check_mode
        assert run.mutating() == []

    # Read-only modules never block, even with the budget spent.
    read = run_playbook(fresh_sim, [{"name": "read", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Read", "sre.ovirt.vm_info": {"name": "app01"}},
        {"name": "Capacity", "sre.ovirt.engine_info": {"gather": ["clusters"]}}]}], env=env)
    assert read.rc == 0, read.stdout[-2000:]
    assert read.results("Read")[0]["vms"][0]["name"] == "app01"

    # Remediation (bring the crashed VM back) passes, and is recorded in the gate log.
    remediation = {"ledger_path": ledger, "cache_ttl": 0, "change_class": "remediation"}
    remediate = [{"name": "remediate", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Restart app01",
         "sre.ovirt.vm": {"name": "app01", "state": "running", "slo_policy": remediation}}]}]
    fixed = run_playbook(fresh_sim, remediate, env=env)
    assert fixed.rc == 0, fixed.stdout[-3000:]
    assert fixed.results("Restart app01")[0]["slo_gate"]["outcome"] == "remediation"

    # Break glass: runs, is recorded, and leaves an audit event in the Engine.
    bg = dict(ledger_path=ledger, cache_ttl=0, break_glass={"reason": "kernel CVE fix", "ticket": "CHG-4711"})
    glass = run_playbook(fresh_sim, PLAYBOOK, extra_vars=dict(one_vm("app04"), sre_ovirt_slo_policy=bg), env=env)
    assert glass.rc == 0, glass.stdout[-3000:]
    assert "app04" in [v["name"] for v in fresh_sim.state()["vms"]]
    conn = fresh_sim.connection()
    try:
        audit = [e for e in conn.system_service().events_service().list(max=50)
                 if "break-glass" in (e.description or "")]
    finally:
        conn.close()
    assert audit and "CHG-4711" in audit[0].description and audit[0].origin == "sre.ovirt"

    import sqlite3
    db = sqlite3.connect(ledger)
    outcomes = [r[0] for r in db.execute("SELECT outcome FROM gate_log ORDER BY t")]
    db.close()
    assert "remediation" in outcomes and "break_glass" in outcomes and "refused" in outcomes


def test_gate_module_in_check_mode_reads_the_same(fresh_sim, ledger):
    seed(ledger, time.time())
    env = policy_env(ledger)
    for check in (False, True):
        run = run_playbook(fresh_sim, gate_task(), env=env, check=check)
        assert run.rc == 0, run.stdout[-2000:]
        report = run.results("Gate")[0]["report"]
        avail = [r for r in report if r["slo"] == "vm-availability"][0]
        assert avail["verdict"] == "pass" and avail["budget"]["remaining_share"] == pytest.approx(1.0)
    assert run.requests == [] or all(r["method"] == "GET" or "/sso/" in r["path"] for r in run.requests)


def test_slo_report_playbook_writes_json_and_markdown(sim, tmp_path):
    ledger = str(tmp_path / "sli.sqlite")
    seed(ledger, time.time())
    out = str(tmp_path / "report")
    run = run_playbook(sim, os.path.join(REPO, "playbooks", "slo_report.yml"), env=policy_env(ledger),
                       extra_vars={"slo_report_dir": out})
    assert run.rc == 0, run.stdout[-3000:]
    data = json.load(open(os.path.join(out, "slo-report.json")))
    assert [s["slo"] for s in data["slos"]] == ["vm-availability", "vm-boot-time", "vm-migration-time",
                                                "storage-latency", "engine-api-latency", "backup-freshness"]
    assert data["decision"]["outcome"] == "pass"
    md = open(os.path.join(out, "slo-report.md")).read()
    assert "| VM availability > 99.9% | pass | 100.0000% | 99.90% | 100.0% |" in md
    table = run.results("Print the budget table")[0]["msg"]
    assert table[0].startswith("SLO") and any(line.startswith("vm-boot-time") for line in table)
    # An empty ledger is reported, not failed: no_data, named.
    run = run_playbook(sim, os.path.join(REPO, "playbooks", "slo_report.yml"),
                       env=policy_env(str(tmp_path / "empty.sqlite")), extra_vars={"slo_report_dir": out})
    assert run.rc == 0
    data = json.load(open(os.path.join(out, "slo-report.json")))
    assert {s["verdict"] for s in data["slos"]} == {"no_data"} and data["decision"]["outcome"] == "refused"


def test_engine_source_measures_downtime_from_events(fresh_sim):
    from ovirtsdk4 import types
    from ovirt_engine_sim.testing import wait_status
    conn = fresh_sim.connection()
    try:
        vms = conn.system_service().vms_service()
        vm = vms.add(types.Vm(name="eng01", cluster=types.Cluster(name="Default"),
                              template=types.Template(name="centos9-template")))
        svc = vms.vm_service(vm.id)
        wait_status(svc, types.VmStatus.DOWN)
        svc.start()
        wait_status(svc, types.VmStatus.UP)
    finally:
        conn.close()
    fresh_sim.set_clock(mode="manual")
    fresh_sim.advance(30 * 86400)            # a month of quiet running
    policy = {"source": "engine", "on_no_data": "warn", "cache_ttl": 0}
    healthy = run_playbook(fresh_sim, gate_task(**policy))
    assert healthy.rc == 0, healthy.stdout[-2000:]
    verdicts = {r["slo"]: r for r in healthy.results("Gate")[0]["report"]}
    assert verdicts["vm-availability"]["verdict"] == "pass"
    assert verdicts["engine-api-latency"]["verdict"] == "no_data"  # the Engine keeps no API latency history
    assert healthy.mutating() == []

    fresh_sim.inject({"kind": "vm_crash", "target": "eng01"})
    fresh_sim.advance(2 * 3600)              # down for two hours: 120 min > the 43.2 min budget
    spent = run_playbook(fresh_sim, gate_task(**policy))
    res = spent.results("Gate")[0]
    assert spent.rc != 0, [(r["slo"], r["verdict"], r["reason"], r.get("budget")) for r in res["report"]]
    assert res["slo_gate"]["blocking"] == ["vm-availability"]
    avail = [r for r in res["report"] if r["slo"] == "vm-availability"][0]
    assert avail["budget"]["consumed"] == pytest.approx(7200, abs=120)


def test_sli_collect_takes_slo_policy_from_its_task(sim, ledger):
    """The module's own documented example: the ledger named on the task, no SRE_OVIRT_LEDGER in the environment."""
    env = dict((k, v) for k, v in os.environ.items() if k not in ("SRE_OVIRT_LEDGER", "SRE_OVIRT_SLO_POLICY"))
    run = run_playbook(sim, [{"name": "collect", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Sample", "sre.ovirt.sli_collect": {"slo_policy": {"ledger_path": ledger}}}]}], env=env)
    assert run.rc == 0, run.stdout[-3000:]
    out = run.results("Sample")[0]
    assert out["ledger"] == ledger and sum(out["recorded"].values()) > 0
    assert os.path.getsize(ledger) > 0
