"""Role variables arrive as strings from ``-e key=value`` and AWX surveys: every boolean and number a role declares
in meta/argument_specs.yml works given as a string (ansible-core 2.19 refuses a string conditional)."""

import os
import sys

import pytest
import yaml

from tests.integration.harness import run_playbook
from tests.support.collection import REPO, collections_path

sys.path.insert(0, collections_path())
from ansible_collections.sre.ovirt.plugins.module_utils.backup.repository import Repository  # noqa: E402

AS_STRING = {"bool": "true", "int": "2", "float": "0.5"}
ROLES = {
    "vm_provision": ("create_vm.yml", False, {"vm_provision_vms": [
        {"name": "s1", "template": "centos9-template", "cluster": "Default", "memory": "1GiB"}]}),
    "fencing": ("fencing_setup.yml", True, {"fencing_agents": [
        {"type": "ipmilan", "address": "bmc-{host}.example.test", "username": "admin", "password": "calvin"}]}),
    "rolling_patch": ("patch_hosts.yml", True, {}),
    # the backup roles against an empty repository (created by the test below): nothing to back up or drill, but
    # every typed option goes through the roles' conditionals and filters
    "vm_backup": ("backup_vms.yml", True, {"vm_backup_repository": "{repo}", "vm_backup_search": "name=nothing*"}),
    "backup_verify": ("backup_verify.yml", True, {"backup_verify_repository": "{repo}"}),
    "engine_backup": ("engine_backup.yml", True, {
        "engine_backup_hosts": "localhost", "engine_backup_dir": "{tmp}", "engine_backup_become": "false"}),
}


def typed_options(role):
    with open(os.path.join(REPO, "roles", role, "meta", "argument_specs.yml")) as f:
        spec = yaml.safe_load(f)["argument_specs"]["main"]["options"]
    return dict((k, v["type"]) for k, v in spec.items() if v.get("type") in AS_STRING)


def test_every_role_with_typed_options_is_covered():
    roles = [r for r in os.listdir(os.path.join(REPO, "roles")) if typed_options(r)]
    assert sorted(roles) == sorted(ROLES)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_typed_role_variables_given_as_strings(fresh_sim, role, tmp_path):
    playbook, check, extra = ROLES[role]
    repo = str(tmp_path / "repository")
    Repository(repo).open(create=True)
    extra = dict((k, v.format(repo=repo, tmp=str(tmp_path)) if isinstance(v, str) else v) for k, v in extra.items())
    strings = ["%s=%s" % (k, AS_STRING[t]) for k, t in sorted(typed_options(role).items())]
    args = []
    for s in strings:
        args += ["-e", s]
    run = run_playbook(fresh_sim, os.path.join(REPO, "playbooks", playbook), extra_vars=extra or None, check=check,
                       extra_args=args)
    out = run.stdout + run.stderr
    assert "derived from value of type 'str'" not in out, out[-3000:]
    assert run.rc == 0, out[-3000:]
