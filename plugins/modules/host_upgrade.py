#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_upgrade
short_description: Check a host for updates, or upgrade it through the Engine and follow it back
version_added: 0.1.0
description:
  - C(check) runs the Engine's update check and returns whether an update is available (the result of the check
    is read from the events about this host's id, 885).
  - C(upgrade) upgrades the host (from maintenance, or from up - the Engine then drains it first), optionally
    rebooting it, and follows it through installing and reboot until the upgrade is reported done (842) and the
    host is back in the status the Engine returns it to - C(maintenance) when it was in maintenance, C(up)
    otherwise (after the reboot the Engine sees it non-responsive, then initializing, then up); or until the
    upgrade failed (841), the host stopped answering before the upgrade was done, or the Engine reported it not
    responding (9027) after it. Events are matched on the host's id - never on a name substring, so host1 never
    matches host10. A host with no update is left alone (C(changed=false)); that is what makes a re-run resume.
  - Never waits in check mode.
author:
  - SRE oVirt team (@sre-ovirt)
extends_documentation_fragment:
  - sre.ovirt.engine
  - sre.ovirt.wait
  - sre.ovirt.slo_policy
  - sre.ovirt.attributes
options:
  host:
    description: Host name.
    type: str
    required: true
  action:
    description: C(check) or C(upgrade).
    type: str
    choices: [check, upgrade]
    default: upgrade
  reboot:
    description: Reboot the host after the upgrade.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: C(check) reports the update flag the Engine already knows; C(upgrade) reports what it would do.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Anything to install?
  sre.ovirt.host_upgrade:
    host: host07
    action: check
  register: check

- name: Upgrade and reboot
  sre.ovirt.host_upgrade:
    host: host07
  when: check.update_available
"""

RETURN = r"""
update_available:
  description: Whether the host has an update waiting (after a check; after an upgrade, false).
  returned: always
  type: bool
host_status:
  description: The host's status at the end (after an upgrade, the status it was in before - C(up) or
    C(maintenance) - unless C(wait=false)).
  returned: always
  type: str
seconds:
  description: Time from the request to the upgrade's end.
  returned: when upgraded
  type: float
events:
  description: The Engine's events about this host during the run (code and description).
  returned: always
  type: list
  elements: dict
"""

import time

try:
    from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule
    from ansible_collections.sre.ovirt.plugins.module_utils.client.wait import wait_for
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import EngineError, last_event_id, where
    from ansible_collections.sre.ovirt.plugins.module_utils.model.events import (
        HOST_AVAILABLE_UPDATES_FAILED, HOST_AVAILABLE_UPDATES_FINISHED, HOST_UPGRADE_FAILED, HOST_UPGRADE_FINISHED,
        VDS_HOST_NOT_RESPONDING)
except ImportError:  # pragma: no cover
    pass

CHECK_DONE = (HOST_AVAILABLE_UPDATES_FINISHED,)
CHECK_FAILED = (HOST_AVAILABLE_UPDATES_FAILED,)
UPGRADE_DONE = (HOST_UPGRADE_FINISHED,)
UPGRADE_FAILED = (HOST_UPGRADE_FAILED,)
BUSY = ("installing", "reboot", "preparing_for_maintenance", "unassigned", "initializing", "connecting")


def main():
    module = EngineModule(argument_spec=dict(
        host=dict(type="str", required=True), action=dict(type="str", choices=["check", "upgrade"], default="upgrade"),
        reboot=dict(type="bool", default=True)), supports_check_mode=True,
        # Asking the host what it could install changes nothing: never gated.
        mutating=lambda p: p["action"] == "upgrade")
    try:
        result = run(module, module.params)
    except EngineError as exc:
        module.fail_from(exc)
    module.exit_json(**result)


def run(module, p):
    system = module.client.system_service()
    host = module.require(system.hosts_service(), p["host"], "host", "host")
    hsvc = system.hosts_service().host_service(host.id)
    events_svc = system.events_service()
    result = {"changed": False, "update_available": bool(host.update_available), "host_status": host.status.value,
              "events": []}
    if module.check_mode or (p["action"] == "upgrade" and not host.update_available):
        return dict(result, changed=p["action"] == "upgrade" and bool(host.update_available))
    mark = last_event_id(events_svc)
    # UpgradeHostInternalCommand: a host upgraded from maintenance is left there; any other goes initializing (after
    # a reboot: non-responsive first) and host monitoring brings it up.
    target = "maintenance" if host.status.value == "maintenance" else "up"

    seen = {"events": []}

    def mine():
        # One request per poll while the host is visibly busy; its events are read when it may have finished.
        h = hsvc.get()
        if p["action"] == "check" or h.status.value not in BUSY:
            out = [e for e in events_svc.list(from_=mark, search=where("host.id", host.id))
                   if e.host is not None and e.host.id == host.id]
            seen["events"] = sorted(out, key=lambda e: int(e.id))
        return seen["events"], h

    def finished(evs):
        return next((i for i, e in enumerate(evs) if e.code in done), None)

    def gone(state):
        evs, h = state
        if any(e.code in failed for e in evs) or h.status.value in ("install_failed", "error"):
            return True
        if p["action"] == "check":
            return h.status.value == "non_responsive"
        end = finished(evs)
        if end is None:
            # Not answering before the upgrade is done: the host did not come back from its reboot; fail now, not
            # at the deadline.
            return h.status.value == "non_responsive"
        # After it, non-responsive is the way back up (the reboot); the Engine saying so (9027) is not.
        return any(e.code == VDS_HOST_NOT_RESPONDING for e in evs[end + 1:])

    def complete(state):
        evs, h = state
        if finished(evs) is None:
            return False
        return p["action"] == "check" or not p["wait"] or h.status.value == target

    started = time.time()
    if p["action"] == "check":
        hsvc.upgrade_check()
        done, failed = CHECK_DONE, CHECK_FAILED
    else:
        hsvc.upgrade(reboot=p["reboot"])
        done, failed = UPGRADE_DONE, UPGRADE_FAILED
    evs, final = wait_for(mine, done=complete, failed=gone, timeout=p["timeout"], interval=p["poll_interval"],
                          what="the %s of host %s" % ("update check" if p["action"] == "check" else "upgrade",
                                                      p["host"]),
                          describe=lambda st: "host %s is %s: %s" % (
                              p["host"], st[1].status.value, st[0][-1].description if st[0] else "no event yet"),
                          latest_error=lambda: module.latest_error_event(host_id=host.id))
    result.update(events=[{"code": e.code, "description": e.description} for e in evs],
                  update_available=bool(final.update_available), host_status=final.status.value)
    if p["action"] == "upgrade":
        result.update(changed=True, seconds=round(time.time() - started, 3))
        module.record("host_upgrade_seconds", result["seconds"], subject=p["host"])
    return result


if __name__ == "__main__":
    main()
