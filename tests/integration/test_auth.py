# SPDX-License-Identifier: GPL-3.0-or-later
"""sre.ovirt.auth and the playbooks' one login per play, judged from the simulator's request log (every SSO
request is logged: POST /ovirt-engine/sso/oauth/token to log in, POST /ovirt-engine/services/sso-logout to
revoke, as the SDK sends them)."""

import os

from tests.integration.harness import run_playbook
from tests.support.collection import REPO

SSO_TOKEN = "/ovirt-engine/sso/oauth/token"
SSO_LOGOUT = "/ovirt-engine/services/sso-logout"
AUTH = "{{ sre_ovirt_auth | default(ovirt_auth | default({}), true) }}"
LOGIN = {"name": "Log in", "sre.ovirt.auth": {"auth": "{{ ovirt_auth | default({}) }}"}}
LOGOUT = {"name": "Log out", "sre.ovirt.auth": {"state": "absent"}, "when": "sre_ovirt_auth.token is defined"}


def logins(run):
    """Successful log-ins (a refused one answers 400)."""
    return [r for r in run.requests if r["path"] == SSO_TOKEN and r["method"] == "POST" and r["status"] == 200]


def logouts(run):
    return [r for r in run.requests if r["path"] == SSO_LOGOUT and r["method"] == "POST"]


def play(tasks, after=(), name="one session"):
    """A play in the playbooks' pattern: log in, the tasks, log out in `always`."""
    return {"name": name, "hosts": "localhost", "gather_facts": False,
            "module_defaults": {"group/sre.ovirt.engine": {"auth": AUTH}},
            "tasks": [{"name": "Session", "block": [LOGIN] + list(tasks), "always": [LOGOUT]}] + list(after)}


TWENTY = [{"name": "read %d" % i, ("sre.ovirt.vm_info" if i % 2 else "sre.ovirt.engine_info"): {}}
          for i in range(20)]


def test_twenty_module_tasks_log_in_once_and_out_once_and_the_token_is_revoked(sim, tmp_path):
    keep = {"name": "Keep the token to try it after the log-out", "ansible.builtin.set_fact": {
        "kept_auth": "{{ sre_ovirt_auth }}"}, "no_log": True}
    after = [{"name": "Use the revoked token", "sre.ovirt.vm_info": {"auth": "{{ kept_auth }}"},
              "ignore_errors": True, "register": "late"}]
    # two plays in one run: the second must log in afresh, not reuse the first one's revoked token
    run = run_playbook(sim, [play(TWENTY + [keep], after), play(TWENTY[:1], name="second")])
    assert run.rc == 0, run.stdout[-3000:]
    assert len(logins(run)) == 2 and len(logouts(run)) == 2, [r["path"] for r in run.requests]
    assert [r["status"] for r in logouts(run)] == [200, 200]
    # the 22 tasks made their API requests with the two tokens: only the late one was refused, with 401
    statuses = [r["status"] for r in run.api_requests()]
    assert len(statuses) >= 22 and statuses.count(401) == 1 and set(statuses) == {200, 401}, statuses
    late = run.results("Use the revoked token")[0]
    assert late["failed"], late
    # changed=0: logging in and out is not a change
    assert run.changed == 0


def test_the_token_is_never_printed_nor_given_to_callbacks(sim, tmp_path):
    """No no_log on the log-in task: the action plugin hides the result that carries the token, at -vvv too."""
    record = str(tmp_path / "callbacks.log")
    token_file = str(tmp_path / "token")
    grab = {"name": "Write the token where only the test reads it", "no_log": True,
            "ansible.builtin.copy": {"content": "{{ sre_ovirt_auth.token }}", "dest": token_file, "mode": "0600"}}
    env = {"ANSIBLE_CALLBACKS_ENABLED": "record_everything", "RECORD_EVERYTHING_FILE": record,
           "ANSIBLE_CALLBACK_PLUGINS": os.path.join(REPO, "tests", "support", "callback_plugins")}
    run = run_playbook(sim, [play([grab] + TWENTY[:2])], verbosity=3, callback="default", env=env)
    assert run.rc == 0, run.stdout[-3000:]
    with open(token_file) as f:
        token = f.read().strip()
    assert len(token) > 20
    with open(record) as f:
        seen = f.read()
    assert "v2_runner_on_ok" in seen and "censored" in seen           # the recorder saw the censored login
    assert "TASK: read 1" in seen and "'engine_requests'" in seen      # ...and the tasks that used the token
    assert token not in seen
    assert token not in run.stdout and token not in run.stderr
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.stdout          # -vvv printed the invocations, masked


def test_a_failing_task_still_logs_out(sim):
    run = run_playbook(sim, [play(TWENTY[:1] + [{"name": "Boom", "ansible.builtin.fail": {"msg": "boom"}}])])
    assert run.rc != 0
    assert len(logins(run)) == 1 and len(logouts(run)) == 1
    assert run.results("Log out")[0].get("logged_out") is True


def test_a_failed_login_says_why_and_logs_nothing_out(sim):
    bad = {"url": sim.url, "username": sim.username, "password": "wrong", "ca_file": sim.ca_file}
    run = run_playbook(sim, [play(TWENTY[:1])], extra_vars={"ovirt_auth": bad})
    assert run.rc != 0
    result = run.results("Log in")[0]
    assert result["failed"] and "incorrect" in result["msg"] and "wrong" not in result["msg"], result
    assert logouts(run) == [] and run.results("Log out")[0].get("skipped")
    assert run.api_requests() == []


def test_check_mode_logs_in_and_out_and_changes_nothing(sim):
    run = run_playbook(sim, [play(TWENTY[:1])], check=True)
    assert run.rc == 0, run.stdout[-3000:]
    assert len(logins(run)) == 1 and len(logouts(run)) == 1 and run.mutating() == []


def test_a_given_token_is_used_as_is_and_never_revoked(sim):
    conn = sim.connection()
    token = conn.authenticate()
    try:
        given = {"url": sim.url, "token": token, "ca_file": sim.ca_file}
        run = run_playbook(sim, [play(TWENTY[:2])], extra_vars={"ovirt_auth": given})
        assert run.rc == 0, run.stdout[-3000:]
        assert logins(run) == [] and logouts(run) == []
        assert run.results("Log in")[0]["logged_in"] is False
        assert conn.system_service().get().product_info is not None      # still valid
    finally:
        conn.close()


def test_create_vm_playbook_logs_in_once_for_its_async_jobs(fresh_sim):
    run = run_playbook(fresh_sim, os.path.join(REPO, "playbooks", "create_vm.yml"), extra_vars={
        "vm_provision_vms": [{"name": "one%d" % i, "template": "centos9-template", "cluster": "Default",
                              "memory": "1GiB"} for i in range(3)]})
    assert run.rc == 0, run.stdout[-3000:]
    sso = [r["path"] for r in run.requests if not r["path"].startswith("/ovirt-engine/api")]
    assert len(logins(run)) == 1 and len(logouts(run)) == 1, sso
    assert len(run.api_requests()) > 10          # the async jobs' work went through the one token
    assert all(r["status"] != 401 for r in run.api_requests())
    # the log-out is the last request: no job was still using the token
    assert run.requests[-1]["path"] == SSO_LOGOUT


def test_patch_hosts_playbook_logs_in_once(sim):
    run = run_playbook(sim, os.path.join(REPO, "playbooks", "patch_hosts.yml"), check=True)
    assert run.rc == 0, run.stdout[-3000:]
    assert len(logins(run)) == 1 and len(logouts(run)) == 1
    assert run.mutating() == []
