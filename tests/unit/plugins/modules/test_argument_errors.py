# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad arguments fail with Ansible's own message (naming the option and the allowed values), before any request.

EngineModule used to fail inside AnsibleModule's validation and then trip over its own missing attributes
("'EngineModule' object has no attribute 'gate_report'"), hiding the message."""

import json
import os
import subprocess
import sys

import pytest

from tests.support.collection import collections_path

MODULES = os.path.join(collections_path(), "ansible_collections", "sre", "ovirt", "plugins", "modules")
AUTH = {"url": "https://engine.invalid/ovirt-engine/api", "username": "admin@internal", "password": "unused-secret"}


def run_module(name, args, tmp_path):
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=collections_path())
    proc = subprocess.run([sys.executable, os.path.join(MODULES, name + ".py"), str(path)], capture_output=True,
                          text=True, env=env, timeout=60, check=False)
    return json.loads(proc.stdout)


CASES = [
    ("vm", {"name": "web1", "state": "runing"}, r"value of state must be one of: .*running.*, got: runing"),
    ("vm", {"name": "web1", "memroy": "1GiB"}, r"Unsupported parameters for \(.*\) module: memroy"),
    ("vm", {"state": "running"}, r"missing required arguments: name"),
    ("host_fence", {"host": "host01", "action": "reboot"}, r"value of action must be one of: status, start, stop, restart"),
    ("patch_plan", {"cluster": "Default", "clustr": "Default"}, r"Unsupported parameters .*clustr"),
    ("slo_gate", {"slo_policy": {"source": "prometheus"}}, r"prometheus_url"),
    ("vm", {"name": "web1", "slo_policy": {"break_glass": {"reason": "outage"}}}, r"break_glass.*ticket"),
]


@pytest.mark.parametrize("module,args,message", CASES, ids=["%s-%d" % (c[0], i) for i, c in enumerate(CASES)])
def test_bad_arguments_show_ansibles_message(module, args, message, tmp_path):
    import re
    out = run_module(module, dict(args, auth=AUTH), tmp_path)
    assert out.get("failed") is True, out
    assert "has no attribute" not in out["msg"], out["msg"]
    assert re.search(message, out["msg"]), out["msg"]
    assert out.get("engine_requests", 0) == 0


@pytest.mark.parametrize("module", ["vm", "vm_info", "host_fence", "slo_gate", "patch_plan"])
def test_missing_sdk_is_named(module, tmp_path):
    """Without ovirt-engine-sdk-python the module says which library is missing (Ansible's missing_required_lib)."""
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['ovirtsdk4'] = None\n")
    path = tmp_path / "args.json"
    args = {"name": "web1", "host": "host01", "cluster": "Default", "auth": AUTH}
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {k: v for k, v in args.items() if k in ARGS[module]}}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(hide), collections_path()]))
    proc = subprocess.run([sys.executable, os.path.join(MODULES, module + ".py"), str(path)], capture_output=True,
                          text=True, env=env, timeout=60, check=False)
    out = json.loads(proc.stdout)
    assert out.get("failed") is True and "ovirt-engine-sdk-python" in out["msg"], out


ARGS = {"vm": ("name", "auth"), "vm_info": ("auth",), "host_fence": ("host", "auth"), "slo_gate": ("auth",),
        "patch_plan": ("cluster", "auth")}


BEFORE_ANY_REQUEST = [
    ("vm", {"name": "web/1", "cluster": "Default"}, "name", r"not a valid VM name"),
    ("vm", {"name": "a" * 65, "cluster": "Default"}, "name", r"1 to 64 characters"),
    ("vm", {"name": "", "cluster": "Default"}, "name", r"not a valid VM name"),
    ("host_power_management", {"host": "host01", "agents": [{"type": "ipmilan", "address": " "}]},
     "agents[0].address", r"must not be empty"),
    ("host_power_management", {"host": "host01", "agents": [{"type": "ipmi", "address": "bmc"}]}, None,
     r"value of type must be one of: apc, .*ipmilan.*, got: ipmi"),
    ("patch_plan", {"cluster": "Default", "max_batch": -1}, "max_batch", r"0 \(no limit\) or a positive"),
]


@pytest.mark.parametrize("module,args,field,message", BEFORE_ANY_REQUEST,
                         ids=["%s-%d" % (c[0], i) for i, c in enumerate(BEFORE_ANY_REQUEST)])
def test_input_the_engine_would_refuse_is_refused_before_any_request(module, args, field, message, tmp_path):
    """The auth URL does not resolve: any request would fail with a connection error, not this message."""
    import re
    out = run_module(module, dict(args, auth=AUTH), tmp_path)
    assert out.get("failed") is True and re.search(message, out["msg"]), out
    if field:
        assert out.get("field") == field
    assert out.get("engine_requests", 0) == 0
