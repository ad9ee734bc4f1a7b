# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The public surface of sre.ovirt's shared code.

``ENGINE_ARGUMENT_SPEC`` is the connection option every module takes; its documentation is the doc
fragment ``sre.ovirt.engine`` (plugins/doc_fragments/engine.py), and ``WAIT_ARGUMENT_SPEC`` goes with
``sre.ovirt.wait``. Change one, change the other. (The ``slo_policy`` option lives with the SLO gate:
``slo.policy.SLO_POLICY_ARGUMENT_SPEC``.) Importing this module loads the client only, never the SLO stack.

Inventory, lookup and other plugins can use the client directly::

    from ansible_collections.sre.ovirt.plugins.module_utils.engine import EngineClient, EngineSettings
    client = EngineClient(EngineSettings.from_auth({"url": ..., "username": ..., "password": ...}))
    vms = client.system_service().vms_service().list(search="status=up")
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback

from ansible_collections.sre.ovirt.plugins.module_utils.client.connection import (  # noqa: F401 - public API
    EngineClient, EngineSettings, RetryPolicy)
from ansible_collections.sre.ovirt.plugins.module_utils.client.errors import (  # noqa: F401 - public API
    EngineAuthError, EngineBadRequest, EngineChangeRefused, EngineConflict, EngineError, EngineFailedState,
    EngineNotFound, EngineRequestUncertain, EngineSettingsError, EngineTimeout, EngineTransientError, translate)
from ansible_collections.sre.ovirt.plugins.module_utils.client.search import (  # noqa: F401 - public API
    all_of, any_of, find_one, get_by_name, last_event_id, of_types, quote, where)

__all__ = [
    "ENGINE_ARGUMENT_SPEC", "WAIT_ARGUMENT_SPEC", "EngineAuthError", "EngineBadRequest", "EngineChangeRefused",
    "EngineClient", "EngineConflict", "EngineError", "EngineFailedState", "EngineNotFound", "EngineRequestUncertain",
    "EngineSettings", "EngineSettingsError", "EngineTimeout", "EngineTransientError", "RetryPolicy", "all_of",
    "any_of", "find_one", "get_by_name", "last_event_id", "of_types", "quote", "translate", "where",
]

ENGINE_ARGUMENT_SPEC = dict(
    auth=dict(
        type="dict",
        options=dict(
            url=dict(type="str", fallback=(env_fallback, ["OVIRT_URL"])),
            username=dict(type="str", fallback=(env_fallback, ["OVIRT_USERNAME"])),
            password=dict(type="str", no_log=True, fallback=(env_fallback, ["OVIRT_PASSWORD"])),
            token=dict(type="str", no_log=True, fallback=(env_fallback, ["OVIRT_TOKEN"])),
            ca_file=dict(type="path", fallback=(env_fallback, ["OVIRT_CAFILE"])),
            insecure=dict(type="bool", fallback=(env_fallback, ["OVIRT_INSECURE"])),
            timeout=dict(type="int", default=60),
        ),
    ),
)

# Every mutating module takes ``slo_policy`` (doc fragment sre.ovirt.slo_policy); the options live with the gate.
WAIT_ARGUMENT_SPEC = dict(
    wait=dict(type="bool", default=True),
    timeout=dict(type="int", default=600),
    poll_interval=dict(type="float", default=3.0),
)
