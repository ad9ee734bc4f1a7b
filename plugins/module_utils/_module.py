# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A thin AnsibleModule for Engine modules: the connection options, a lazy client, one way to fail."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.sre.ovirt.plugins.module_utils import _client
from ansible_collections.sre.ovirt.plugins.module_utils.engine import ENGINE_ARGUMENT_SPEC, WAIT_ARGUMENT_SPEC


class EngineModule(AnsibleModule):
    def __init__(self, argument_spec, waits=True, **kwargs):
        spec = dict(ENGINE_ARGUMENT_SPEC)
        if waits:
            spec.update(WAIT_ARGUMENT_SPEC)
        spec.update(argument_spec)
        super(EngineModule, self).__init__(argument_spec=spec, **kwargs)
        if not _client.HAS_SDK:
            self.fail_json(msg=missing_required_lib("ovirt-engine-sdk-python"))
        self.diff = {"before": {}, "after": {}}
        self._client = None

    @property
    def client(self):
        if self._client is None:
            try:
                settings = _client.EngineSettings.from_auth(self.params.get("auth"))
            except _client.EngineSettingsError as exc:
                self.fail_json(msg=str(exc), field=exc.field)
            self._client = _client.EngineClient(settings)
        return self._client

    def latest_error_event(self, vm_id=None, host_id=None):
        return self.client.latest_error_event(vm_id=vm_id, host_id=host_id)

    def _close(self, result):
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
        if self._diff and (self.diff["before"] or self.diff["after"]) and "diff" not in result:
            result["diff"] = self.diff
        self._close(result)
        super(EngineModule, self).exit_json(**result)

    def fail_json(self, msg, **result):
        self._close(result)
        super(EngineModule, self).fail_json(msg=msg, **result)

    def fail_from(self, exc):
        """Fail once, with the Engine's fault detail and HTTP status."""
        exc = _client.translate(exc)
        result = {"exception": traceback.format_exc()}
        if isinstance(exc, _client.EngineError):
            result.update(engine_status=exc.code, engine_detail=exc.detail, error_type=type(exc).__name__)
            msg = exc.describe()
        else:
            msg = str(exc)
        self.fail_json(msg=msg, **result)
