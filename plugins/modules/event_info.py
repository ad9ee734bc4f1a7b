#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: event_info
short_description: Read the Engine's events - newest id, events since an id, by code or object
version_added: 0.1.0
description:
  - Returns events oldest first, so a playbook can remember C(last_id) and ask for what happened since.
  - One request.
author:
  - SRE oVirt team (@sre-ovirt)
extends_documentation_fragment:
  - sre.ovirt.engine
  - sre.ovirt.slo_policy.read_only
  - sre.ovirt.attributes.info_module
options:
  since:
    description: Only events with an id greater than this.
    type: int
  search:
    description: Engine search, e.g. C(type=9020 or type=9018), C(host.name=host02).
    type: str
  max:
    description: At most this many (the newest).
    type: int
"""

EXAMPLES = r"""
- name: Remember where the event log is
  sre.ovirt.event_info:
    max: 1
  register: mark

- name: What the Engine did since
  sre.ovirt.event_info:
    since: "{{ mark.last_id }}"
  register: happened
"""

RETURN = r"""
events:
  description: C(id), C(code), C(severity), C(time), C(description), C(vm) and C(host) (ids), oldest first.
  returned: always
  type: list
  elements: dict
last_id:
  description: The newest event id returned (or C(since) when none).
  returned: always
  type: int
"""

try:
    from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import EngineError
except ImportError:  # pragma: no cover
    pass


def main():
    module = EngineModule(argument_spec=dict(since=dict(type="int"), search=dict(type="str"), max=dict(type="int")),
                          supports_check_mode=True, waits=False, mutating=False)
    p = module.params
    try:
        system = module.client.system_service()
        kwargs = dict((k, v) for k, v in (("search", p["search"]), ("max", p["max"])) if v is not None)
        if p["since"] is not None:
            kwargs["from_"] = p["since"]
        events = system.events_service().list(**kwargs)
    except EngineError as exc:
        module.fail_from(exc)
    rows = []
    for e in sorted(events, key=lambda e: int(e.id)):
        if p["since"] is not None and int(e.id) <= p["since"]:
            continue
        rows.append({"id": int(e.id), "code": e.code, "severity": e.severity.value if e.severity else None,
                     "time": e.time.isoformat() if e.time else None, "description": e.description,
                     "vm": e.vm.id if e.vm is not None else None, "host": e.host.id if e.host is not None else None})
    module.exit_json(changed=False, events=rows, last_id=rows[-1]["id"] if rows else (p["since"] or 0))


if __name__ == "__main__":
    main()
