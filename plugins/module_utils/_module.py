# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A thin AnsibleModule for Engine modules: the connection options, a lazy client, one way to fail."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.sre.ovirt.plugins.module_utils.client.connection import EngineClient, EngineSettings
from ansible_collections.sre.ovirt.plugins.module_utils.client.errors import (
    EngineChangeRefused, EngineError, EngineSettingsError, HAS_SDK, translate)
from ansible_collections.sre.ovirt.plugins.module_utils.client.search import get_by_name
from ansible_collections.sre.ovirt.plugins.module_utils.sli import record as sli_record
from ansible_collections.sre.ovirt.plugins.module_utils.slo.gate import cached_report, decide, record_decision, summary
from ansible_collections.sre.ovirt.plugins.module_utils.slo.policy import (
    SLO_POLICY_ARGUMENT_SPEC, GateError, resolve)
from ansible_collections.sre.ovirt.plugins.module_utils.engine import ENGINE_ARGUMENT_SPEC, WAIT_ARGUMENT_SPEC


class TaskFailed(EngineError):
    """Raised by a module's helpers when the task must fail: ``main()`` fails once, with ``msg`` and ``result``
    (the field at fault, what was done so far). An EngineError, so ``except EngineError`` catches it."""

    def __init__(self, msg, **result):
        super(TaskFailed, self).__init__(msg)
        self.result = result


class EngineModule(AnsibleModule):
    """``mutating=True`` modules take ``slo_policy`` and evaluate the SLO gate once, before their first
    POST/PUT/DELETE (and, in check mode, when they would change something). Read-only modules never block."""

    def __init__(self, argument_spec, waits=True, mutating=True, change_class=None, reads_policy=False, **kwargs):
        """``mutating`` and ``change_class`` may be functions of the validated parameters: what the task does
        decides whether the gate applies and how (activating a host restores service, asking for updates changes
        nothing), before the policy is read."""
        spec = dict(ENGINE_ARGUMENT_SPEC)
        if waits:
            spec.update(WAIT_ARGUMENT_SPEC)
        # Every module accepts slo_policy, so module_defaults can set it for the whole action group;
        # read-only modules ignore it.
        spec.update(SLO_POLICY_ARGUMENT_SPEC)
        spec.update(argument_spec)
        # Set before AnsibleModule validates the arguments: a bad argument fails inside super().__init__, and
        # fail_json (below) must then report Ansible's own message, not trip over missing attributes.
        self.diff = {"before": {}, "after": {}}
        self._client = None
        self.mutating = bool(mutating) if not callable(mutating) else True
        # A read-only module that works with the policy itself (sli_collect writes its ledger) takes slo_policy
        # from its task; other read-only modules ignore it (module_defaults sets it for the whole group).
        self.reads_policy = reads_policy
        self.gate_report = None
        self.slo_policy = None
        self.measurements = []
        super(EngineModule, self).__init__(argument_spec=spec, **kwargs)
        if not HAS_SDK:
            self.fail_json(msg=missing_required_lib("ovirt-engine-sdk-python"))
        if callable(mutating):
            self.mutating = bool(mutating(self.params))
        if callable(change_class):
            change_class = change_class(self.params)
        try:
            self.slo_policy = self._load_policy()
        except GateError as exc:
            self.fail_json(msg=str(exc), field=exc.field)
        if change_class and self.slo_policy is not None:
            # What the module does decides its class (fencing a dead host restores service), not the play's policy.
            self.slo_policy["change_class"] = change_class

    def _load_policy(self):
        return resolve(self.params.get("slo_policy") if (self.mutating or self.reads_policy) else None)

    # -- the SLO gate ---------------------------------------------------------------------------
    def check_gate(self):
        """Evaluate the gate (cached across a run); raise EngineChangeRefused when the change must not happen."""
        if self.gate_report is not None or not self.mutating or self.slo_policy is None:
            return self.gate_report
        try:
            client = self.client if self.slo_policy["source"] == "engine" else None
            report = decide(self.slo_policy, cached_report(self.slo_policy, client=client))
        except GateError as exc:
            report = {"passed": False, "outcome": "refused", "blocking": [], "slos": [],
                      "message": "SLO gate could not evaluate the SLOs: %s" % exc}
        self.gate_report = report
        record_decision(self.slo_policy, report, module=self._name)
        if not report["passed"]:
            if self.check_mode:
                report["message"] = report["message"].replace("refused the change", "would refuse the change")
            raise EngineChangeRefused(report["message"], report)
        if report["outcome"] == "break_glass" and not self.check_mode:
            self._audit_break_glass(report)
        return report

    def _audit_break_glass(self, report):
        from ovirtsdk4 import types
        bg = self.slo_policy["break_glass"]
        text = "sre.ovirt break-glass: %s ran with the error budget spent (%s). Ticket %s: %s" % (
            self._name, ", ".join(report.get("blocking") or []), bg["ticket"], bg["reason"])
        self.client.system_service().events_service().add(types.Event(
            description=text[:4000], severity=types.LogSeverity.WARNING, origin="sre.ovirt",
            custom_id=abs(hash((bg["ticket"], self._name))) % 2**31))
        report["audit_event"] = text

    def record(self, measurement, value, weight=1.0, subject=None, source_id=None):
        """Queue an SLI measurement (boot time, migration time...) for the ledger / Pushgateway."""
        self.measurements.append((measurement, float(value), None, float(weight), subject, source_id))

    @property
    def client(self):
        if self._client is None:
            try:
                settings = EngineSettings.from_auth(self.params.get("auth"))
            except EngineSettingsError as exc:
                self.fail_json(msg=str(exc), field=exc.field)
            hook = self.check_gate if (self.mutating and self.slo_policy is not None) else None
            self._client = EngineClient(settings, before_mutation=hook)
        return self._client

    def require(self, collection, name, what, field, **result):
        """The object named ``name`` in ``collection``; when there is none, fail naming the option ``field``."""
        found = get_by_name(collection, name, what)
        if found is None:
            raise TaskFailed("%s: no %s named %s" % (field, what, name), field=field, **result)
        return found

    def latest_error_event(self, vm_id=None, host_id=None):
        return self.client.latest_error_event(vm_id=vm_id, host_id=host_id)

    def _close(self, result):
        if self.gate_report is not None:
            result.setdefault("slo_gate", summary(self.gate_report))
        if self._client is not None:
            for entry in self._client.request_log:
                self.measurements.append(("engine_api_seconds", entry["seconds"], None, 1.0, entry["method"], None))
        sli_record.flush(self.slo_policy, self.measurements, warn=self.warn)
        self.measurements = []
        if self._client is not None:
            log = self._client.request_log
            result.setdefault("engine_requests", len(log))
            result.setdefault("engine_retries", sum(1 for r in log if r["retry"]))
            self._client.close()
            self._client = None
        else:
            result.setdefault("engine_requests", 0)
            result.setdefault("engine_retries", 0)

    def exit_json(self, **result):
        if self.check_mode and result.get("changed") and self.gate_report is None and self.slo_policy is not None:
            try:
                self.check_gate()
            except EngineChangeRefused as exc:
                self.fail_from(exc)
        if self._diff and (self.diff["before"] or self.diff["after"]) and "diff" not in result:
            result["diff"] = self.diff
        self._close(result)
        super(EngineModule, self).exit_json(**result)

    def fail_json(self, msg, **result):
        self._close(result)
        super(EngineModule, self).fail_json(msg=msg, **result)

    def fail_from(self, exc):
        """Fail once, with the Engine's fault detail and HTTP status."""
        if isinstance(exc, TaskFailed):
            self.fail_json(msg=str(exc), **exc.result)
        exc = translate(exc)
        result = {"exception": traceback.format_exc()}
        if isinstance(exc, EngineChangeRefused):
            result = {"slo_gate": summary(exc.report), "changed": False}
            self.fail_json(msg=str(exc), **result)
        if isinstance(exc, EngineError):
            result.update(engine_status=exc.code, engine_detail=exc.detail, error_type=type(exc).__name__)
            msg = exc.describe()
        else:
            msg = str(exc)
        self.fail_json(msg=msg, **result)
