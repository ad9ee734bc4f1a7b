# SPDX-License-Identifier: GPL-3.0-or-later
"""Every playbook run as an AWX job template with a survey runs it: ``-e key=value`` strings only (booleans as
yes/no/true/false, numbers as digits, lists as ``a,b``, lists of dicts as JSON text), against one simulator, each
run judged by its effect on the Engine (or the files it writes). Order matters: the file's tests share the
simulator and build on each other (pytest --dist loadfile keeps them in order on one worker)."""

import json
import os
import re
import time

from tests.integration.harness import run_playbook
from tests.integration.test_backup_restore import make_vm
from tests.support.collection import REPO

PB = os.path.join(REPO, "playbooks")
GIB = 1 << 30


def survey(sim, playbook, answers, check=False, callback="json", env=None, extra_args=(), timeout=600):
    """Run ``playbook`` with every answer as ``-e key=value`` (strings only, as a survey or a CLI user sends)."""
    args = []
    for key, value in answers.items():
        assert isinstance(value, str), (key, value)
        args += ["-e", "%s=%s" % (key, value)]
    run = run_playbook(sim, os.path.join(PB, playbook), check=check, callback=callback, env=env, timeout=timeout,
                       extra_args=list(extra_args) + args)
    out = run.stdout + run.stderr
    assert "derived from value of type 'str'" not in out, out[-3000:]
    assert run.rc == 0, out[-4000:]
    return run


def engine(sim, what, **kw):
    conn = sim.connection()
    try:
        system = conn.system_service()
        return dict((o.name, o) for o in getattr(system, what + "_service")().list(**kw))
    finally:
        conn.close()


def test_create_vm_from_scalars(sim):
    answers = {"vm_provision_names": "aw01,aw02", "vm_provision_template": "centos9-template",
               "vm_provision_cluster": "Default", "vm_provision_memory": "1GB", "vm_provision_cpus": "2",
               "vm_provision_tags": "web,awx", "vm_provision_state": "running", "vm_provision_concurrency": "2",
               "vm_provision_timeout": "300", "vm_provision_poll_interval": "1"}
    run = survey(sim, "create_vm.yml", answers)
    vms = engine(sim, "vms", follow="tags")
    for name in ("aw01", "aw02"):
        vm = vms[name]
        assert vm.status.value == "up" and vm.memory == GIB and vm.cpu.topology.sockets == 2
        assert sorted(t.name for t in vm.tags) == ["awx", "web"]
    summary = run.results("Summary")[0]["msg"]
    assert summary[0].split() == ["VM", "STATUS", "HOST", "CHANGED", "BOOT"] and summary[-1] == "2 VM(s), 2 changed, 2 up"


def test_patch_hosts_prints_progress_not_retries(sim):
    for host in ("host01", "host02", "host03"):
        sim.admin("POST", "/hosts/" + host, {"update_available": True})
    run = survey(sim, "patch_hosts.yml", {
        "rolling_patch_cluster": "Default", "rolling_patch_check_updates": "yes", "rolling_patch_canary": "no",
        "rolling_patch_n_plus_one": "no", "rolling_patch_max_batch": "2", "rolling_patch_probe": "false",
        "rolling_patch_reboot": "yes", "rolling_patch_stop_pinned": "yes", "rolling_patch_poll_interval": "1",
        "rolling_patch_job_poll": "0.5", "rolling_patch_timeout": "600"}, callback="default")
    assert "RETRYING" not in run.stdout
    # no canary: host02 and host03 together, then the SPM alone; a line per host and step, one closing each batch
    for pattern in (r"\(item=batch 1/2: host0[23] in maintenance, 1 of 2\)", r"\(item=batch 1/2: host0[23] upgraded, 2 of 2\)",
                    r"\(item=batch 1/2: host0[23] active, 2 of 2\)", r"\(item=batch 2/2: host01 active, 1 of 1\)",
                    r'"msg": "batch 1/2: host0[23], host0[23] patched and up, 0 VM\(s\) started again; 2 of 3 host\(s\) done"',
                    r'"msg": "batch 2/2: host01 patched and up, 0 VM\(s\) started again; 3 of 3 host\(s\) done"'):
        assert re.search(pattern, run.stdout), (pattern, run.stdout[-3000:])
    assert "rolling patch of Default: finished, 3 host(s) patched" in run.stdout
    hosts = dict((h["name"], h) for h in sim.state()["hosts"])
    assert all(h["status"] == "up" and not h["update_available"] for h in hosts.values()), hosts
    assert all(v.status.value == "up" for v in engine(sim, "vms").values())


FENCE_AGENTS = [{"type": "ipmilan", "address": "bmc-{host}.example.test", "username": "admin", "password": "calvin"}]


def test_fencing_setup_with_agents_as_json_text(sim):
    run = survey(sim, "fencing_setup.yml", {
        "fencing_cluster": "Default", "fencing_agents": json.dumps(FENCE_AGENTS, separators=(",", ":")),
        "fencing_verify": "yes", "fencing_kdump_detection": "true"})
    assert "calvin" not in run.stdout
    hosts = engine(sim, "hosts")
    assert all(h.power_management.enabled and h.power_management.kdump_detection for h in hosts.values())
    assert run.results("Report")[0]["msg"][0].split() == ["HOST", "RESULT", "VERIFIED"]


def test_ha_setup_with_assignments_as_json_text(sim):
    survey(sim, "ha_setup.yml", {
        "ha_policy_cluster": "Default",
        "ha_policy_assignments": json.dumps([{"tier": "silver", "names": ["aw*"]}], separators=(",", ":")),
        "ha_policy_resilience": "on_error=migrate"})
    vms = engine(sim, "vms")
    assert all(vms[n].high_availability.enabled and vms[n].high_availability.priority == 50 for n in ("aw01", "aw02"))


def test_ha_drill(sim):
    host = [h["name"] for h in sim.state()["hosts"] if h["name"] != "host01"][0]
    run = survey(sim, "ha_drill.yml", {"ha_drill_host": host, "ha_drill_cluster": "Default",
                                       "ha_drill_retries": "120", "ha_drill_delay": "1"})
    outcome = run.results("Report")[0]["ha_drill_outcome"]
    assert outcome["restarted_order"] == outcome["predicted_order"] and outcome["host"] == host


def test_engine_backup(sim, tmp_path):
    inventory = tmp_path / "inventory"
    inventory.write_text("[engine]\nengine-vm ansible_connection=local\n")
    env = {"PATH": os.path.join(REPO, "tests", "support", "bin") + os.pathsep + os.environ["PATH"],
           "ENGINE_BACKUP_STUB_ADMIN_URL": sim.admin_url, "ENGINE_BACKUP_STUB_CA": sim.ca_file,
           "ENGINE_BACKUP_STUB_AUTH": "%s:%s" % (sim.username, sim.password)}
    answers = {"engine_backup_hosts": "engine", "engine_backup_become": "no", "engine_backup_scope": "all",
               "engine_backup_dir": str(tmp_path / "backups"), "engine_backup_keep": "1",
               "engine_backup_log_lines": "10"}
    os.makedirs(str(tmp_path / "backups"))
    old = tmp_path / "backups" / "engine-backup-20260101T000000Z.backup"
    old.write_text("an older archive")
    survey(sim, "engine_backup.yml", answers, env=env, extra_args=["-i", str(inventory)])
    archives = [n for n in os.listdir(str(tmp_path / "backups")) if n.endswith(".backup")]
    assert len(archives) == 1 and not old.exists()   # the new one checked and kept, the older one removed


def test_reports_write_their_files(sim, tmp_path):
    health = survey(sim, "health_check.yml", {"health_check_dir": str(tmp_path / "health"),
                                              "health_check_fail_on": "critical"})
    assert json.load(open(str(tmp_path / "health" / "health.json")))["verdict"] == \
        health.results("Check the Engine")[0]["verdict"]
    # the SLO policy as JSON text (a survey's textarea); the module reads the text as its dict option
    policy = json.dumps({"ledger_path": str(tmp_path / "ledger.sqlite"), "cache_ttl": 0}, separators=(",", ":"))
    survey(sim, "slo_report.yml", {"slo_report_dir": str(tmp_path / "slo"), "sre_ovirt_slo_policy": policy})
    assert json.load(open(str(tmp_path / "slo" / "slo-report.json")))["slos"]
    # a fortnight of samples every 6 h for the seed's cluster and storage domain
    samples = tmp_path / "samples.jsonl"
    now = time.time()
    with open(str(samples), "w") as f:
        for i in range(56):
            t = now - (56 - i) * 6 * 3600
            f.write(json.dumps({"time": t, "clusters": {"Default": {"cpu": 20 + i * 0.2, "memory": 30 + i * 0.3,
                                                                    "network": 10.0}},
                                "storage_domains": {"data-nfs": 40 + i * 0.1}}) + "\n")
    survey(sim, "capacity_report.yml", {"capacity_report_samples_file": str(samples),
                                        "capacity_report_dir": str(tmp_path / "capacity"),
                                        "capacity_report_history_days": "30"})
    assert os.path.getsize(str(tmp_path / "capacity" / "capacity.md")) > 100


def test_backup_verify_and_restore(sim, tmp_path):
    make_vm(sim, name="awb1")
    repo = str(tmp_path / "repository")
    os.makedirs(repo)
    run = survey(sim, "backup_vms.yml", {
        "vm_backup_repository": repo, "vm_backup_vms": "awb1", "vm_backup_mode": "full",
        "vm_backup_concurrency": "1", "vm_backup_parallel_disks": "2", "vm_backup_timeout": "300",
        "vm_backup_poll_interval": "1", "vm_backup_max_age_hours": "26", "vm_backup_retention": "keep_last=3"},
        callback="default")
    assert "RETRYING" not in run.stdout and "(item=awb1 ended, 1 of 1)" in run.stdout
    assert "1 of 1 backed up" in run.stdout
    points = os.listdir(os.path.join(repo, "vms", engine(sim, "vms")["awb1"].id, "points"))
    assert len([p for p in points if not p.startswith(".")]) == 1
    # the file check only (the restore drill is test_backup_verify.py's)
    verify = survey(sim, "backup_verify.yml", {
        "backup_verify_repository": repo, "backup_verify_vms": "awb1", "backup_verify_boot": "no",
        "backup_verify_sample": "1", "backup_verify_suffix": "-awx", "backup_verify_timeout": "300"})
    assert verify.results("Check every point's files")[0]["checked"] == 1
    assert verify.results("Drill each VM") == [] or all(r.get("skipped") for r in verify.results("Drill each VM"))
    restore = survey(sim, "restore_vm.yml", {
        "restore_repository": repo, "restore_vm": "awb1", "restore_point": "latest", "restore_name": "awb1-copy",
        "restore_state": "stopped", "restore_verify": "no"}, check=True)
    assert restore.results("Restore awb1")[0]["name"] == "awb1-copy" and restore.mutating() == []


def test_sli_collect_schedule(sim, tmp_path):
    """The SLI schedule's job template: the ledger path, a number and a boolean as survey text."""
    ledger = str(tmp_path / "sli.sqlite")
    run = survey(sim, "sli_collect.yml", {"sli_collect_ledger_path": ledger, "sli_collect_storage_disks": "5",
                                          "sli_collect_events": "no"})
    sample = run.results("Sample the SLIs")[0]
    assert sample["ledger"] == ledger and sample["recorded"], sample
    assert os.path.getsize(ledger) > 0
    assert run.changed == 0
