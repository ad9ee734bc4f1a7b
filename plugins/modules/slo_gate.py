#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: slo_gate
short_description: Evaluate every SLO's error budget and refuse the play when one is spent
version_added: 0.1.0
description:
  - Evaluates the SLOs of O(slo_policy) (the collection's five by default) from the SLI ledger or
    Prometheus and returns a per-SLO report - SLI, budget total, consumed and remaining, burn rates over the
    1h/5m, 6h/30m, 1d/2h and 3d/6h windows, and a verdict (C(pass), C(warn), C(fail), C(no_data)) with its reason.
  - Fails when a budget is spent or an SLO has no data (unless O(slo_policy.on_no_data=warn)), for
    O(slo_policy.change_class=change). A C(remediation) passes and is recorded; a break-glass override passes, is
    recorded in the ledger and posted to the Engine as an audit event.
  - It only reads, so it runs in check mode exactly as in a real run (a break-glass audit event is posted only in
    a real run).
  - Every mutating module of the collection evaluates the same gate on its own when O(slo_policy) is set in
    C(module_defaults); this module is the explicit step at the start of a playbook.
author:
  - SRE oVirt team (@sre-ovirt)
extends_documentation_fragment:
  - sre.ovirt.engine
  - sre.ovirt.slo_policy
  - sre.ovirt.attributes.info_module
options:
  enforce:
    description:
      - With C(false), report only - the task succeeds whatever the verdicts (for dashboards and reports); nothing
        is recorded in the gate log and no break-glass event is posted.
    type: bool
    default: true
notes:
  - O(auth) is used to post the break-glass audit event, and to read the Engine when
    O(slo_policy.source=engine).
"""

EXAMPLES = r"""
- name: Stop here when an error budget is spent
  sre.ovirt.slo_gate:
    slo_policy:
      source: ledger
      ledger_path: /var/lib/sre-ovirt/sli.sqlite

- name: Fencing a dead host is a remediation, which passes and is recorded
  sre.ovirt.slo_gate:
    slo_policy:
      change_class: remediation

- name: Break glass for an urgent security fix
  sre.ovirt.slo_gate:
    slo_policy:
      break_glass:
        reason: CVE-2026-1234 kernel fix cannot wait for the budget to recover
        ticket: CHG-4711
"""

RETURN = r"""
slo_gate:
  description: The decision and one line per SLO.
  returned: always
  type: dict
  contains:
    passed:
      description: Whether the change may go ahead.
      type: bool
    outcome:
      description: C(pass), C(refused), C(remediation) or C(break_glass).
      type: str
    blocking:
      description: Names of the SLOs that spent their budget or had no data.
      type: list
      elements: str
    message:
      description: One line saying what was decided and why.
      type: str
report:
  description: The full evaluation per SLO (SLI, budget, burn rates, verdict and reason).
  returned: always
  type: list
  elements: dict
  sample:
    - slo: vm-availability
      verdict: fail
      reason: "error budget spent: SLI 99.8500% < target 99.9000% over 30d (-50.0% of budget remaining)"
      sli: 0.9985
      target: 0.999
      budget: {total: 2592.0, consumed: 3888.0, remaining_share: -0.5, unit: events}
"""

try:
    from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule
    from ansible_collections.sre.ovirt.plugins.module_utils.slo.gate import decide, evaluate_all, summary
    from ansible_collections.sre.ovirt.plugins.module_utils.slo.policy import GateError
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import EngineChangeRefused, EngineError
except ImportError:  # pragma: no cover - EngineModule reports the missing SDK
    pass


def main():
    module = EngineModule(argument_spec=dict(enforce=dict(type="bool", default=True)), supports_check_mode=True,
                          waits=False, mutating=True)
    if module.slo_policy is None:
        module.fail_json(msg="slo_policy: set it on the task, in module_defaults for group/sre.ovirt.engine, or in "
                             "SRE_OVIRT_SLO_POLICY (and enabled must not be false)", field="slo_policy")
    if not module.params["enforce"]:
        try:
            client = module.client if module.slo_policy["source"] == "engine" else None
            report = decide(module.slo_policy, evaluate_all(module.slo_policy, client=client))
        except GateError as exc:
            module.fail_json(msg=str(exc), field=exc.field)
        module.exit_json(changed=False, slo_gate=summary(report), report=report["slos"])
    try:
        module.check_gate()
    except EngineChangeRefused as exc:
        module.fail_json(msg=str(exc), slo_gate=summary(exc.report), report=exc.report.get("slos", []),
                         changed=False)
    except EngineError as exc:
        module.fail_from(exc)
    module.exit_json(changed=False, report=module.gate_report.get("slos", []))


if __name__ == "__main__":
    main()
