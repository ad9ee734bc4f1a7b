# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The AWX pieces under docs/awx/ and meta/: the execution environment definition (ansible-builder create, offline),
the EE's Python requirements, the custom credential type, and the example job templates and schedules."""

import json
import os
import re
import shutil
import subprocess
import tarfile

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

from tests.support.collection import REPO

VENV_BIN = os.path.join(REPO, ".venv", "bin")
AWX_DIR = os.path.join(REPO, "docs", "awx")
EE_FILE = os.path.join(AWX_DIR, "execution-environment.yml")
GALAXY = yaml.safe_load(open(os.path.join(REPO, "galaxy.yml")))


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("collection")
    subprocess.run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path",
                    str(out), REPO], check=True, capture_output=True, env=dict(os.environ, ANSIBLE_HOME=str(out)))
    return str(out / ("%s-%s-%s.tar.gz" % (GALAXY["namespace"], GALAXY["name"], GALAXY["version"])))


@pytest.fixture(scope="module")
def context(tarball, tmp_path_factory):
    """`ansible-builder create` on the definition, laid out as in the checkout: docs/awx/ and build/ee/."""
    root = tmp_path_factory.mktemp("ee")
    os.makedirs(str(root / "docs" / "awx"))
    os.makedirs(str(root / "build" / "ee"))
    shutil.copy(EE_FILE, str(root / "docs" / "awx"))
    shutil.copy(tarball, str(root / "build" / "ee" / "sre-ovirt.tar.gz"))
    ctx = root / "context"
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-builder"), "create", "-f",
                           str(root / "docs" / "awx" / "execution-environment.yml"), "-c", str(ctx),
                           "--output-filename", "Containerfile"], capture_output=True, text=True, check=False,
                          # offline: any attempt to reach the network fails
                          env=dict(os.environ, http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No matches" not in proc.stdout + proc.stderr and "does not exist" not in proc.stdout + proc.stderr
    return ctx


def test_the_containerfile_runs_python_311_or_later(context):
    text = (context / "Containerfile").read_text()
    pycmd = re.search(r'^ARG PYCMD="([^"]+)"', text, re.MULTILINE).group(1)
    version = re.search(r"python(\d+)\.(\d+)$", pycmd)
    assert version and (int(version.group(1)), int(version.group(2))) >= (3, 11), pycmd
    pypkg = re.search(r'^ARG PYPKG="([^"]*)"', text, re.MULTILINE).group(1)
    assert pypkg == "python%s.%s" % version.groups()                  # the package that provides that Python
    assert "RUN $PKGMGR install $PYPKG -y" in text                    # ...is installed into the base image
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="([^"]+)"', text, re.MULTILINE).group(1).split()
    core = Requirement([r for r in refs if r.startswith("ansible-core")][0])
    assert core.specifier.contains("2.19.14") and not core.specifier.contains("2.20.0")
    assert any(r.startswith("ansible-runner") for r in refs)


def test_the_collection_comes_from_the_built_tarball(context):
    reqs = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert reqs["collections"] == [{"name": "collections/sre-ovirt.tar.gz", "type": "file"}]
    # the galaxy stage installs from /build, where _build is copied
    text = (context / "Containerfile").read_text()
    assert "COPY _build /build\nWORKDIR /build" in text and "collection install" in text
    with tarfile.open(str(context / "_build" / "collections" / "sre-ovirt.tar.gz")) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
        names = tar.getnames()
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == ("sre", "ovirt", GALAXY["version"])
    assert "meta/execution-environment.yml" in names and "meta/ee-requirements.txt" in names
    assert "plugins/modules/auth.py" in names and not any(".venv" in n for n in names)


def test_the_ee_python_requirements_are_ranges_that_hold_the_tested_pins(tarball, tmp_path):
    """What ansible-builder's introspection reads from the installed collection: ranges, never exact pins, and
    each range admits the version requirements.txt pins (the one the tests run)."""
    env = dict(os.environ, ANSIBLE_HOME=str(tmp_path))
    subprocess.run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "install", "-p", str(tmp_path / "c"),
                    tarball], check=True, capture_output=True, env=env)
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-builder"), "introspect", str(tmp_path / "c")],
                          capture_output=True, text=True, check=True)
    data = yaml.safe_load(proc.stdout[proc.stdout.index("---"):])
    python = [Requirement(line.split("#")[0].strip()) for line in data["python"]]
    assert python, proc.stdout
    pins = {}
    with open(os.path.join(REPO, "requirements.txt")) as f:
        for line in f:
            line = line.split("#")[0].strip()
            if "==" in line:
                name, version = line.split("==")
                pins[name.lower().replace("_", "-")] = version
    ranged = {}
    for req in python:
        ops = set(spec.operator for spec in req.specifier)
        assert ops == {">=", "<"}, "%s is not a >=,< range" % req
        ranged[req.name.lower().replace("_", "-")] = req
    for name, version in pins.items():
        assert name in ranged, "%s (requirements.txt) is missing from meta/ee-requirements.txt" % name
        assert ranged[name].specifier.contains(Version(version)), (name, version, str(ranged[name]))
    assert any("python3.11-devel" in line for line in data["system"])      # headers of the EE's Python


def test_the_credential_type_injects_only_fields_it_has():
    inputs = load(os.path.join(AWX_DIR, "credential-type-engine-ca.inputs.yml"))
    injectors = load(os.path.join(AWX_DIR, "credential-type-engine-ca.injectors.yml"))
    fields = set(f["id"] for f in inputs["fields"])
    assert set(inputs["required"]) <= fields
    assert set(injectors) <= {"file", "env", "extra_vars"}
    files = set(key.split(".", 1)[1] for key in injectors.get("file", {}))
    assert all(key.startswith("template.") for key in injectors.get("file", {}))
    used = set()
    for value in list(injectors.get("file", {}).values()) + list(injectors.get("env", {}).values()):
        for expr in re.findall(r"{{\s*([^}]+?)\s*}}", value):
            if expr.startswith("tower.filename."):
                assert expr.split(".", 2)[2] in files, expr
            else:
                assert expr in fields, expr
                used.add(expr)
    assert used == fields
    assert injectors["env"] == {"OVIRT_CAFILE": "{{ tower.filename.ca_pem }}"}


# Options of the awx.awx 24.6.1 modules the example uses (ansible 12.3.0's awx.awx), without the connection ones.
AWX_OPTIONS = {
    "credential_type": {"description", "injectors", "inputs", "kind", "name", "new_name", "state"},
    "credential": {"copy_from", "credential_type", "description", "inputs", "name", "new_name", "organization",
                   "state", "team", "update_secrets", "user"},
    "execution_environment": {"credential", "description", "image", "name", "new_name", "organization", "pull",
                              "state"},
    "project": {"allow_override", "copy_from", "credential", "custom_virtualenv", "default_environment",
                "description", "interval", "local_path", "name", "new_name", "notification_templates_error",
                "notification_templates_started", "notification_templates_success", "organization", "scm_branch",
                "scm_clean", "scm_delete_on_update", "scm_refspec", "scm_track_submodules", "scm_type",
                "scm_update_cache_timeout", "scm_update_on_launch", "scm_url", "signature_validation_credential",
                "state", "timeout", "update_project", "wait"},
    "job_template": {"allow_simultaneous", "ask_credential_on_launch", "ask_diff_mode_on_launch",
                     "ask_execution_environment_on_launch", "ask_forks_on_launch", "ask_instance_groups_on_launch",
                     "ask_inventory_on_launch", "ask_job_slice_count_on_launch", "ask_job_type_on_launch",
                     "ask_labels_on_launch", "ask_limit_on_launch", "ask_scm_branch_on_launch",
                     "ask_skip_tags_on_launch", "ask_tags_on_launch", "ask_timeout_on_launch",
                     "ask_variables_on_launch", "ask_verbosity_on_launch", "become_enabled", "copy_from",
                     "credential", "credentials", "custom_virtualenv", "description", "diff_mode",
                     "execution_environment", "extra_vars", "force_handlers", "forks", "host_config_key",
                     "instance_groups", "inventory", "job_slice_count", "job_tags", "job_type", "labels", "limit",
                     "name", "new_name", "organization", "playbook", "prevent_instance_group_fallback", "project",
                     "scm_branch", "skip_tags", "start_at_task", "state", "survey_enabled", "survey_spec",
                     "timeout", "use_fact_cache", "vault_credential", "verbosity", "webhook_credential",
                     "webhook_service"},
    "schedule": {"credentials", "description", "diff_mode", "enabled", "execution_environment", "extra_data",
                 "forks", "instance_groups", "inventory", "job_slice_count", "job_tags", "job_type", "labels",
                 "limit", "name", "new_name", "organization", "rrule", "scm_branch", "skip_tags", "state", "timeout",
                 "unified_job_template", "verbosity"},
}
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
# Variables every playbook reads besides its own and its roles'.
COMMON_VARS = {"ovirt_auth", "sre_ovirt_slo_policy"}


def playbook_variables(path):
    """The variables a playbook reads: its vars, the options of the roles it includes, the common ones."""
    known = set(COMMON_VARS)
    text = open(path).read()
    for play in yaml.safe_load(text):
        known |= set(play.get("vars") or {})
    for role in re.findall(r"name: sre\.ovirt\.(\w+)", text):
        spec = load(os.path.join(REPO, "roles", role, "meta", "argument_specs.yml"))
        known |= set(spec["argument_specs"]["main"]["options"])
    known |= set(re.findall(r"\b([a-z_]+) \| default\(", text))
    return known


def test_the_job_templates_and_schedules_name_existing_playbooks_and_variables():
    tasks = load(os.path.join(AWX_DIR, "job_templates.yml"))[0]["tasks"]
    templates, schedules, playbooks = {}, [], set()
    for task in tasks:
        (module, args), = [(k, v) for k, v in task.items() if k.startswith("awx.awx.")]
        short = module.split(".")[-1]
        assert set(args) <= AWX_OPTIONS[short], (task["name"], set(args) - AWX_OPTIONS[short])
        if short == "job_template":
            templates[args["name"]] = args
        elif short == "schedule":
            schedules.append(args)
        for value in args.values():
            for name in re.findall(r"lookup\('ansible.builtin.file', '([^']+)'\)", str(value)):
                assert os.path.exists(os.path.join(AWX_DIR, name)), name
    for name, jt in templates.items():
        path = os.path.join(REPO, jt["playbook"])
        assert os.path.exists(path), name
        playbooks.add(os.path.basename(path))
        known = playbook_variables(path)
        asked = set(jt.get("extra_vars") or {})
        for question in (jt.get("survey_spec") or {}).get("spec", []):
            assert question["type"] in SURVEY_TYPES, question
            if question["type"] == "multiplechoice":
                assert question.get("default", question["choices"][0]) in question["choices"], question
            asked.add(question["variable"])
        assert asked <= known, (name, asked - known)
    assert {"create_vm.yml", "patch_hosts.yml", "sli_collect.yml", "backup_vms.yml"} <= playbooks
    for sched in schedules:
        jt = templates[sched["unified_job_template"]]
        assert set(sched.get("extra_data") or {}) <= playbook_variables(os.path.join(REPO, jt["playbook"]))
        assert re.match(r"DTSTART;TZID=UTC:\d{8}T\d{6} RRULE:FREQ=\w+", sched["rrule"]), sched["rrule"]
        if sched.get("job_type") == "check":
            assert jt.get("ask_job_type_on_launch"), "a check-mode schedule needs the template to ask the job type"
