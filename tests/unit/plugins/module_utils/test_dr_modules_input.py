# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The DR modules: the storage-domain steps from each state, and bad input refused naming the field before any
request (the Engine URL does not resolve: a request would fail differently)."""

import json
import os
import subprocess
import sys
from types import SimpleNamespace as NS

import pytest

from ansible_collections.sre.ovirt.plugins.modules import storage_domain_import as sdi
from tests.support.collection import collections_path

MODULES = os.path.join(collections_path(), "ansible_collections", "sre", "ovirt", "plugins", "modules")
AUTH = {"url": "https://engine.invalid/ovirt-engine/api", "username": "admin@internal", "password": "unused-secret"}


def status(value):
    return NS(status=NS(value=value))


@pytest.mark.parametrize("state,sd,attached,destroy,steps", [
    ("present", None, None, False, ["import", "attach"]),
    ("present", "sd", None, False, ["attach"]),
    ("present", "sd", "maintenance", False, ["activate"]),
    ("present", "sd", "active", False, []),
    ("present", "sd", "locked", False, []),                  # on its way: waited for, not a change
    ("maintenance", None, None, False, ["import", "attach", "update_ovf_store", "deactivate"]),
    ("maintenance", "sd", "active", False, ["update_ovf_store", "deactivate"]),
    ("maintenance", "sd", "maintenance", False, []),
    ("detached", None, None, False, []),
    ("detached", "sd", None, False, []),
    ("detached", "sd", "active", False, ["update_ovf_store", "deactivate", "detach"]),
    ("detached", "sd", "maintenance", False, ["detach"]),
    ("absent", "sd", "active", False, ["update_ovf_store", "deactivate", "detach", "remove"]),
    ("absent", "sd", None, False, ["remove"]),
    ("absent", "sd", "inactive", True, ["destroy"]),
    ("absent", None, None, True, []),
])
def test_storage_domain_steps(state, sd, attached, destroy, steps):
    p = {"state": state, "destroy": destroy}
    assert sdi.plan(p, sd, status(attached) if attached else None) == steps


def run_module(name, args, tmp_path):
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=collections_path())
    for var in ("OVIRT_URL", "OVIRT_USERNAME", "OVIRT_PASSWORD", "OVIRT_CAFILE", "OVIRT_INI_PATH"):
        env.pop(var, None)
    proc = subprocess.run([sys.executable, os.path.join(MODULES, name + ".py"), str(path)], capture_output=True,
                          text=True, env=env, timeout=60, check=False)
    return json.loads(proc.stdout)


CASES = [
    ("storage_domain_import", {"name": "dr-data", "data_center": "dc", "destroy": True, "auth": AUTH},
     "destroy: only with state=absent (state is present)"),
    ("storage_domain_import", {"name": "dr-data", "data_center": "dc", "type": "nfs4", "auth": AUTH},
     "value of type must be one of: nfs, posixfs, glusterfs, iscsi, fcp, got: nfs4"),
    ("vm_register", {"storage_domain": "dr-data", "mappings": {"clusterz": []}, "auth": AUTH},
     "mappings: unknown section(s) clusterz"),
    ("vm_register", {"storage_domain": "dr-data", "mappings": {"clusters": [{"primary": "east"}]}, "auth": AUTH},
     "mappings: clusters[0]: missing secondary"),
    ("vm_register", {"storage_domain": "dr-data", "mapping_file": "/nonexistent/mapping.yml", "auth": AUTH},
     "mapping_file: /nonexistent/mapping.yml does not exist"),
    ("vm_register", {"storage_domain": "dr-data", "name_suffix": " ", "auth": AUTH},
     "name_suffix: must not be empty"),
    ("dr_plan", {"primary": AUTH, "secondary": AUTH, "mapping_file": "/tmp/m.yml", "name_map": {"east": 1}},
     "name_map: name_map.east: must be a name"),
    ("dr_plan", {"primary": AUTH, "mapping_file": "/tmp/m.yml", "state": "generated"},
     "secondary: required with state=generated"),
    ("dr_plan", {"primary": AUTH, "secondary": AUTH, "mapping_file": "/tmp/m.yml", "max_rpo": 60},
     "replica_age: required with max_rpo"),
    ("dr_plan", {"primary": dict(AUTH, url="engine.example.com"), "secondary": AUTH, "mapping_file": "/tmp/m.yml"},
     "primary.url"),
]


@pytest.mark.parametrize("module,args,message", CASES, ids=["%s-%d" % (c[0], i) for i, c in enumerate(CASES)])
def test_bad_input_names_the_field_before_any_request(module, args, message, tmp_path):
    out = run_module(module, args, tmp_path)
    assert out.get("failed") is True, out
    assert message in out["msg"], out["msg"]
    assert out.get("engine_requests", 0) == 0
    assert "unused-secret" not in json.dumps(out)
