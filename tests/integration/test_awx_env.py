# SPDX-License-Identifier: GPL-3.0-or-later
"""The environment AWX's Red Hat Virtualization credential gives a job: OVIRT_URL, OVIRT_USERNAME, OVIRT_PASSWORD
and OVIRT_INI_PATH (an ini file holding the CA as ovirt_ca_file) - no OVIRT_CAFILE, no auth. The playbooks must
work with TLS verified against the ini's CA, and fail clearly when that CA is wrong."""

import os

import pytest
import trustme

from tests.integration import harness
from tests.support.collection import REPO

CREATE_VM = os.path.join(REPO, "playbooks", "create_vm.yml")
ONE_VM = {"vm_provision_vms": [{"name": "awx01", "template": "centos9-template", "cluster": "Default",
                                "memory": "1GiB"}]}


def awx_ini(sim, ca_file):
    """The file AWX renders from the credential's injector (lines joined with \\n, no final newline)."""
    return "\n".join(["[ovirt]", "ovirt_url=%s" % sim.url, "ovirt_username=%s" % sim.username,
                      "ovirt_password=%s" % sim.password, "ovirt_ca_file=%s" % ca_file if ca_file else ""])


@pytest.fixture
def awx_env(monkeypatch, tmp_path):
    """run_playbook with exactly the variables AWX injects (the harness adds the simulator's OVIRT_CAFILE)."""
    real = harness.ansible_env

    def ansible_env(sim=None, extra=None):
        env = real(sim, extra)
        for var in ("OVIRT_CAFILE", "OVIRT_INSECURE", "OVIRT_TOKEN"):
            env.pop(var, None)
        return env

    monkeypatch.setattr(harness, "ansible_env", ansible_env)

    def run(sim, ca_file, playbook=CREATE_VM, extra_vars=None):
        ini = tmp_path / "awx-rhv.ini"
        ini.write_text(awx_ini(sim, ca_file))
        return harness.run_playbook(sim, playbook, extra_vars=extra_vars,
                                    env={"OVIRT_INI_PATH": str(ini)})
    return run


def test_create_vm_with_the_ca_from_the_ini(fresh_sim, awx_env):
    run = awx_env(fresh_sim, fresh_sim.ca_file, extra_vars=ONE_VM)
    assert run.rc == 0, run.stdout[-3000:]
    assert [r["path"] for r in run.requests if r["path"].endswith("/oauth/token")] == ["/ovirt-engine/sso/oauth/token"]
    # the modules got the ini's CA through the log-in's fact (module_defaults): TLS verified, not switched off
    used = run.results("Log out of the Engine")[0]["invocation"]["module_args"]["auth"]
    assert used["ca_file"] == fresh_sim.ca_file and used["insecure"] is False
    conn = fresh_sim.connection()
    try:
        assert [v.name for v in conn.system_service().vms_service().list(search="name=awx01")] == ["awx01"]
    finally:
        conn.close()


def test_a_wrong_ca_in_the_ini_fails_with_a_tls_error_naming_it(sim, awx_env, tmp_path):
    wrong = str(tmp_path / "other-ca.pem")
    trustme.CA().cert_pem.write_to_path(wrong)
    run = awx_env(sim, wrong, extra_vars=ONE_VM)
    assert run.rc != 0
    login = run.results("Log in to the Engine")[0]
    assert login["failed"]
    msg = login["msg"]
    assert "TLS verification" in msg and wrong in msg and "ovirt_ca_file in OVIRT_INI_PATH" in msg, msg
    assert "certificate" in msg.lower(), msg
    assert run.api_requests() == []


def test_no_ca_at_all_is_verified_against_the_system_store_and_fails(sim, awx_env):
    run = awx_env(sim, None, extra_vars=ONE_VM)
    assert run.rc != 0
    msg = run.results("Log in to the Engine")[0]["msg"]
    assert "system's trust store" in msg and "certificate" in msg.lower(), msg
