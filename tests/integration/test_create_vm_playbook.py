# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/create_vm.yml against the simulator: the acceptance of the VM provisioning work."""

import os
import subprocess

import pytest

from tests.integration.harness import run_playbook
from tests.support.collection import REPO, ansible_env

PLAYBOOK = os.path.join(REPO, "playbooks", "create_vm.yml")
DEMO_VARS = "@" + os.path.join(REPO, "playbooks", "vars", "demo.yml")


def engine_vms(sim):
    conn = sim.connection()
    try:
        return {v.name: v for v in conn.system_service().vms_service().list(follow="tags,nics")}
    finally:
        conn.close()


def test_check_mode_on_a_fresh_engine_changes_nothing_and_never_waits(fresh_sim):
    run = run_playbook(fresh_sim, PLAYBOOK, check=True, extra_args=["-e", DEMO_VARS])
    assert run.rc == 0, run.stdout[-3000:]
    results = run.results("Wait for the jobs")
    assert len(results) == 3 and all(r["changed"] for r in results)
    assert run.mutating() == []
    # no wait: one read per VM, no polling
    assert len(run.api_requests()) == 3, [r["path"] for r in run.api_requests()]
    assert engine_vms(fresh_sim) == {}


def test_create_then_rerun_is_idempotent(fresh_sim):
    first = run_playbook(fresh_sim, PLAYBOOK, extra_args=["-e", DEMO_VARS])
    assert first.rc == 0, first.stdout[-3000:]
    vms = engine_vms(fresh_sim)
    assert sorted(vms) == ["db01", "web01", "web02"]
    assert all(v.status.value == "up" for v in vms.values())
    db = vms["db01"]
    assert db.high_availability.enabled and db.high_availability.priority == 80
    assert db.memory == 8 << 30 and db.memory_policy.guaranteed == 4 << 30
    assert db.initialization.host_name == "db01.example.test"
    assert [t.name for t in vms["web01"].tags] == ["web"]
    assert not vms["web01"].high_availability.enabled
    booted = [r.get("boot_seconds") for r in first.results("Wait for the jobs")]
    assert all(b is not None and b > 0 for b in booted)

    second = run_playbook(fresh_sim, PLAYBOOK, extra_args=["-e", DEMO_VARS])
    assert second.rc == 0
    assert second.changed == 0, second.stats
    assert second.mutating() == []
    assert len(second.api_requests()) <= 2 * 3


def test_role_reports_results(fresh_sim):
    run = run_playbook(fresh_sim, PLAYBOOK, extra_vars={"vm_provision_vms": [
        {"name": "solo", "template": "centos9-template", "cluster": "Default", "memory": "1GiB"}]})
    assert run.rc == 0, run.stdout[-3000:]
    report = run.results("Report the VMs")
    assert len(report) == 1 and "solo: up on host0" in report[0]["msg"]


def test_retries_through_503s_and_a_dropped_start(fresh_sim):
    fresh_sim.inject({"kind": "http_status", "status": 503, "share": 0.2})
    fresh_sim.inject({"kind": "drop_connection", "when": "after", "count": 1, "methods": ["POST"],
                      "path": "/start$"})
    run = run_playbook(fresh_sim, PLAYBOOK, extra_args=["-e", DEMO_VARS])
    fresh_sim.clear_faults()
    assert run.rc == 0, run.stdout[-4000:]
    api = run.api_requests()
    assert any(r["status"] == 503 for r in api), "the 503 share was not visible"
    dropped = [r for r in api if r["fault"] == "drop_after"]
    assert len(dropped) == 1
    vms = engine_vms(fresh_sim)
    assert sorted(vms) == ["db01", "web01", "web02"] and all(v.status.value == "up" for v in vms.values())
    # every VM started exactly once: one start action the Engine processed per VM
    processed_starts = [r for r in api if r["path"].endswith("/start") and r["status"] in (0, 200)
                        and r["fault"] in (None, "drop_after")]
    assert len(processed_starts) == 3, processed_starts
    conn = fresh_sim.connection()
    started = conn.system_service().events_service().list(search="type=153")
    conn.close()
    assert len(started) == 3


def test_secrets_never_reach_verbose_output(fresh_sim):
    conn = fresh_sim.connection()
    token = conn.authenticate()
    run = run_playbook(fresh_sim, PLAYBOOK, verbosity=3, callback="default",
                       env={"OVIRT_TOKEN": token},
                       extra_vars={"vm_provision_vms": [{"name": "v1", "template": "centos9-template",
                                                         "cluster": "Default",
                                                         "cloud_init": {"user_name": "cloud",
                                                                        "user_password": "S3cret-cloud-pw"}}]})
    conn.close()
    out = run.stdout + run.stderr
    assert run.rc == 0, out[-3000:]
    assert fresh_sim.password not in out
    assert token not in out
    assert "S3cret-cloud-pw" not in out


def test_ansible_doc_renders():
    for name in ("sre.ovirt.vm", "sre.ovirt.vm_info", "sre.ovirt.engine_info"):
        proc = subprocess.run([os.path.join(REPO, ".venv", "bin", "ansible-doc"), name], env=ansible_env(),
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        assert "auth" in proc.stdout and "EXAMPLES" in proc.stdout


@pytest.mark.parametrize("args,field", [
    ({"memory": "4 GiBs"}, "memory"),
    ({"template": "no-such-template"}, "template"),
    ({"cluster": "no-such-cluster"}, "cluster"),
    ({"nics": [{"name": "nic1"}, {"name": "nic1"}]}, "nics[1].name"),
    ({"cloud_init": {"ipv4": {"address": "192.0.2.300/24"}}}, "cloud_init.ipv4.address"),
    ({"cloud_init": {"ipv4": {"address": "192.0.2.10/40"}}}, "cloud_init.ipv4.address"),
    ({"nics": [{"name": "nic1", "mac": "01:00:5e:00:00:01"}]}, "nics[0].mac"),
])
def test_bad_input_fails_before_anything_is_created(sim, args, field):
    task = {"name": "bad", "template": "centos9-template", "cluster": "Default", "state": "running"}
    task.update(args)
    run = run_playbook(sim, [{"hosts": "localhost", "gather_facts": False,
                              "tasks": [{"name": "vm", "sre.ovirt.vm": task}]}])
    assert run.rc != 0
    result = run.results("vm")[0]
    assert result["failed"] and result["msg"].startswith(field + ":"), result["msg"]
    # nothing changed: no mutating request was accepted (an unknown template or cluster is refused by the
    # Engine itself, with 404, in the one request that would have created the VM)
    assert [r for r in run.mutating() if r["status"] < 400] == []
    assert "bad" not in engine_vms(sim)


def test_the_cloud_init_password_reaches_no_callback(fresh_sim, tmp_path):
    """Every callback (AWX's job events included) receives results, loop items and included files' variables
    uncensored unless the task is no_log: the role must never put a VM item in one of those."""
    record = str(tmp_path / "callbacks.log")
    run = run_playbook(fresh_sim, PLAYBOOK, env={"ANSIBLE_CALLBACKS_ENABLED": "record_everything",
                                                 "RECORD_EVERYTHING_FILE": record},
                       extra_vars={"vm_provision_concurrency": 1, "vm_provision_vms": [
                           {"name": "v%d" % i, "template": "centos9-template", "cluster": "Default",
                            "cloud_init": {"user_name": "cloud", "user_password": "S3cret-cloud-pw"}}
                           for i in (1, 2)]})
    assert run.rc == 0, run.stdout[-3000:]
    with open(record) as f:
        seen = f.read()
    assert "v2_playbook_on_include" in seen and "v2_runner_item_on_ok" in seen     # the recorder saw the loops
    assert "S3cret-cloud-pw" not in seen
