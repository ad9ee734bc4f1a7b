# SPDX-License-Identifier: GPL-3.0-or-later
"""Role variables arrive as strings from ``-e key=value`` and AWX surveys: every boolean and number a role declares
in meta/argument_specs.yml works given as a string (ansible-core 2.19 refuses a string conditional)."""

import os
import re
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


# The roles whose list and dict variables surveys fill (dr has its own engineer and tests).
SURVEY_ROLES = ("vm_provision", "rolling_patch", "ha_policy", "fencing", "vm_backup", "backup_verify", "engine_backup")


def role_options(role):
    with open(os.path.join(REPO, "roles", role, "meta", "argument_specs.yml")) as f:
        return yaml.safe_load(f)["argument_specs"]["main"]["options"]


@pytest.mark.parametrize("role", SURVEY_ROLES)
def test_list_and_dict_variables_are_read_through_the_survey_filters(role):
    """ansible-core's role argument validation accepts ``a,b`` for a list and ``k=v`` for a dict but hands the role
    the text unchanged: every use of such a variable in the role's tasks must go through sre.ovirt.as_list /
    as_dict (a ``| length`` or a loop over the raw text would see characters)."""
    def text(node, key=None):
        """The expressions in the tasks: whole values, but only the Jinja parts of prose (names, messages)."""
        if isinstance(node, dict):
            return " ".join(text(v, k) for k, v in node.items())
        if isinstance(node, list):
            return " ".join(text(v, key) for v in node)
        if key in ("name", "msg", "fail_msg", "success_msg", "label"):
            return " ".join(re.findall(r"{{.*?}}|{%.*?%}", str(node), re.S))
        return str(node)

    tasks = ""
    for name in sorted(os.listdir(os.path.join(REPO, "roles", role, "tasks"))):
        with open(os.path.join(REPO, "roles", role, "tasks", name)) as f:
            tasks += text(yaml.safe_load(f)) + "\n"
    for option, spec in role_options(role).items():
        if spec.get("type") not in ("list", "dict", "raw"):
            continue
        uses = re.findall(r"\b%s\b(?: \| [\w.]+| is defined)?" % option, tasks)
        assert uses, "%s: %s is never used" % (role, option)
        bad = [u for u in uses if not u.endswith(("| sre.ovirt.as_list", "| sre.ovirt.as_dict", " is defined"))]
        assert not bad, "%s: %s used without sre.ovirt.as_list/as_dict: %s" % (role, option, bad)


def test_vm_provision_scalars_build_the_vm_list_in_check_mode(fresh_sim):
    """The survey's scalar variables, as text, make the list of VMs (check mode: the plan, no change)."""
    args = []
    for kv in ("vm_provision_names=s1,s2", "vm_provision_template=centos9-template", "vm_provision_cluster=Default",
               "vm_provision_memory=2048", "vm_provision_cpus=2", "vm_provision_tags=web",
               "vm_provision_defaults=description=from-defaults comment=c1", "vm_provision_state=stopped"):
        args += ["-e", kv]
    run = run_playbook(fresh_sim, os.path.join(REPO, "playbooks", "create_vm.yml"), check=True, extra_args=args)
    assert run.rc == 0, (run.stdout + run.stderr)[-3000:]
    done = run.results("Wait for the jobs")
    assert [r["vm_provision_job"]["name"] for r in done] == ["s1", "s2"] and all(r["changed"] for r in done), done
    assert run.mutating() == []
    base = run.results("Read the VMs and the options for every VM")
    assert base and base[0].get("censored"), "the VM list holds secrets: never printed"


def typed_options(role):
    with open(os.path.join(REPO, "roles", role, "meta", "argument_specs.yml")) as f:
        spec = yaml.safe_load(f)["argument_specs"]["main"]["options"]
    return dict((k, v["type"]) for k, v in spec.items() if v.get("type") in AS_STRING)


# Roles whose typed options need more than one simulator: their own tests pass every typed option as a string.
COVERED_ELSEWHERE = {"dr": "tests/integration/test_dr.py (the drills)"}


def test_every_role_with_typed_options_is_covered():
    roles = [r for r in os.listdir(os.path.join(REPO, "roles")) if typed_options(r)]
    assert sorted(roles) == sorted(list(ROLES) + list(COVERED_ELSEWHERE))


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
