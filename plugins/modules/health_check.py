#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: health_check
short_description: One verdict on an oVirt Engine - ok, warning or critical - with the reasons
version_added: 0.1.0
description:
  - Reads the Engine once (the same bounded list requests as C(sre-ovirt-exporter)) and checks hosts up and
    non-responsive, the Storage Pool Manager, HA VMs down or without room to restart elsewhere, VMs that crashed,
    storage domains inactive or over their thresholds, the Engine API's latency, the age of the newest Engine backup
    (when the API root reports C(engine_backup)) and, when an SLO policy is set, the error budgets.
  - The verdict is the worst reason's severity. The task fails when the verdict reaches O(fail_on), so
    C(ansible-playbook) exits non-zero for CI and cron.
  - Writes the report as Markdown and JSON when O(markdown_file) or O(json_file) are given.
author:
  - SRE oVirt team (@sre-ovirt)
extends_documentation_fragment:
  - sre.ovirt.engine
  - sre.ovirt.slo_policy.read_only
  - sre.ovirt.attributes
options:
  thresholds:
    description: Thresholds of the checks (the defaults shown).
    type: dict
    suboptions:
      storage_warning_percent:
        description: Storage domain used space for a warning (or the domain's own low-space indicator, if lower).
        type: float
        default: 80
      storage_critical_percent:
        description: Storage domain used space for critical (or free space at the domain's critical blocker).
        type: float
        default: 90
      api_warning_seconds:
        description: Engine API root latency for a warning.
        type: float
        default: 2
      api_critical_seconds:
        description: Engine API root latency for critical.
        type: float
        default: 5
      engine_backup_warning_hours:
        description: Age of the newest full Engine backup for a warning.
        type: float
        default: 26
      engine_backup_critical_hours:
        description: Age of the newest full Engine backup for critical.
        type: float
        default: 72
      host_cpu_warning_percent:
        description: Host CPU use for a warning.
        type: float
        default: 90
      host_memory_critical_percent:
        description: Host memory use for critical.
        type: float
        default: 95
  budget:
    description:
      - Include the SLOs' error budgets (spent is critical, burning is a warning). Needs an SLO policy
        (O(slo_policy) or E(SRE_OVIRT_SLO_POLICY)); without one the budgets are not checked.
    type: bool
    default: true
  fail_on:
    description: The verdict that fails the task.
    type: str
    choices: [critical, warning, never]
    default: critical
  markdown_file:
    description: Write the report as Markdown here.
    type: path
  json_file:
    description: Write the report as JSON here.
    type: path
attributes:
  check_mode:
    support: full
    details: The Engine is read; the report files are not written.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Is the Engine healthy? (fails on critical)
  sre.ovirt.health_check:
    markdown_file: /var/tmp/ovirt-health.md
    json_file: /var/tmp/ovirt-health.json
  register: health

- name: Show the reasons
  ansible.builtin.debug:
    var: health.reasons
"""

RETURN = r"""
verdict:
  description: C(ok), C(warning) or C(critical).
  returned: always
  type: str
  sample: critical
reasons:
  description: Why, worst first - C(severity), C(check), C(message), C(subject).
  returned: always
  type: list
  elements: dict
checks:
  description: What was checked - hosts, VMs, HA VMs, storage domains, SPM, Engine API latency, Engine backup age.
  returned: always
  type: dict
markdown:
  description: The report as Markdown.
  returned: always
  type: str
engine_requests:
  description: Engine API requests made.
  returned: always
  type: int
"""

import json

try:
    from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import EngineError
    from ansible_collections.sre.ovirt.plugins.module_utils.monitoring.collect import Collector
    from ansible_collections.sre.ovirt.plugins.module_utils.monitoring.health import DEFAULT_THRESHOLDS, evaluate, markdown
    from ansible_collections.sre.ovirt.plugins.module_utils.slo.gate import cached_report
    from ansible_collections.sre.ovirt.plugins.module_utils.slo.policy import GateError
except ImportError:  # pragma: no cover - EngineModule reports the missing SDK
    DEFAULT_THRESHOLDS = {}

THRESHOLD_SPEC = dict((k, dict(type="float", default=v)) for k, v in sorted(DEFAULT_THRESHOLDS.items()))
ORDER = {"ok": 0, "warning": 1, "critical": 2, "never": 3}


def write(module, path, text):
    before = None
    try:
        with open(path) as f:
            before = f.read()
    except (IOError, OSError):
        pass
    if before == text:
        return False
    if not module.check_mode:
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        module.atomic_move(tmp, path)
    return True


def main():
    module = EngineModule(
        argument_spec=dict(thresholds=dict(type="dict", options=THRESHOLD_SPEC),
                           budget=dict(type="bool", default=True),
                           fail_on=dict(type="str", default="critical", choices=["critical", "warning", "never"]),
                           markdown_file=dict(type="path"), json_file=dict(type="path")),
        supports_check_mode=True, waits=False, mutating=False, reads_policy=True)
    p = module.params
    try:
        snap = Collector(module.client).snapshot()
    except EngineError as exc:
        module.fail_from(exc)
    budget = None
    if p["budget"] and module.slo_policy is not None:
        try:
            client = module.client if module.slo_policy["source"] == "engine" else None
            budget = cached_report(module.slo_policy, client=client)
        except GateError as exc:
            budget = {"slos": [{"slo": "budget", "verdict": "warn", "reason": "could not evaluate: %s" % exc}]}
    result = evaluate(snap, thresholds=p["thresholds"], budget=budget)
    md = markdown(result)
    changed = False
    if p["markdown_file"]:
        changed = write(module, p["markdown_file"], md) or changed
    if p["json_file"]:
        changed = write(module, p["json_file"], json.dumps(result, indent=2, sort_keys=True) + "\n") or changed
    out = dict(result, markdown=md, changed=changed, engine_requests=len(snap.get("requests") or ()))
    if ORDER[result["verdict"]] >= ORDER[p["fail_on"]]:
        module.fail_json(msg="health check: %s - %s" % (result["verdict"], "; ".join(
            r["message"] for r in result["reasons"][:10])), **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
