#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_power_management
short_description: Set a host's fence agents exactly, enable power management, and prove the BMC answers
version_added: 0.1.0
description:
  - Makes the host's fence agents exactly O(agents) (agents not listed are removed; an agent is matched by
    type and address) and sets power management on or off, with kdump detection.
  - With O(verify=true), after any change it runs a C(status) fence through the Engine. When the BMC does not
    answer it fails with the agent's answer, naming the host and the agent, and leaves power management
    disabled (unless O(keep_enabled_on_failure=true)) - an HA setup that only looks right is worse than one that
    is known to be broken.
  - The Engine never returns fence agent passwords, so they cannot be compared. A password is sent when the
    agent is created, and on every run with O(update_password=always). Passwords never appear in results,
    diffs or logs.
author:
  - SRE oVirt team (@sre-ovirt)
extends_documentation_fragment:
  - sre.ovirt.engine
  - sre.ovirt.slo_policy
  - sre.ovirt.attributes
options:
  host:
    description: Host name.
    type: str
    required: true
  enabled:
    description: Power management on or off.
    type: bool
    default: true
  kdump_detection:
    description: Let the Engine wait for a kdump in progress before fencing.
    type: bool
  agents:
    description:
      - The fence agents, in order. Without it, the agents are left as they are.
    type: list
    elements: dict
    suboptions:
      type:
        description: Fence agent type, one the Engine knows (its C(VdsFenceType) list and mapped aliases).
        type: str
        required: true
        choices: [apc, apc_snmp, bladecenter, cisco_ucs, drac5, drac7, eps, hpblade, idrac, ilo, ilo2, ilo3, ilo4,
                  ilo5, ilo_ssh, ipmilan, redfish, rsa, rsb, wti]
      address:
        description: BMC address (not empty).
        type: str
        required: true
      port:
        description: BMC port.
        type: int
      username:
        description: BMC user.
        type: str
      password:
        description: BMC password (see O(update_password)).
        type: str
      options:
        description: 'Agent options, for example C({"lanplus": "1"}).'
        type: dict
      order:
        description: Order among the agents; default, the position in the list (1, 2, ...).
        type: int
      encrypt_options:
        description: Whether the options are encrypted.
        type: bool
      concurrent:
        description: Run this agent concurrently with the one of the same order.
        type: bool
  update_password:
    description: C(on_create) sends a password only for a new agent; C(always) on every run (never idempotent).
    type: str
    choices: [on_create, always]
    default: on_create
  verify:
    description: After a change, run a C(status) fence through the Engine and fail if the BMC does not answer.
    type: bool
    default: true
  keep_enabled_on_failure:
    description: Leave power management enabled even when verification fails.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: IPMI on every host, verified
  sre.ovirt.host_power_management:
    host: "{{ item.name }}"
    agents:
      - type: ipmilan
        address: "{{ item.bmc }}"
        username: admin
        password: "{{ vault_bmc_password }}"
        options: {lanplus: "1"}
  loop: "{{ hosts }}"
  loop_control:
    label: "{{ item.name }}"
"""

RETURN = r"""
agents:
  description: The host's agents after the run (never with passwords).
  returned: always
  type: list
  elements: dict
power_management:
  description: C(enabled), C(kdump_detection) and, when verified, C(status) (the BMC's answer, e.g. C(on)).
  returned: always
  type: dict
verified:
  description: Whether a status fence succeeded in this run (null when none was run).
  returned: always
  type: bool
"""

try:
    from ovirtsdk4 import types as otypes
except ImportError:  # pragma: no cover - EngineModule reports the missing SDK
    otypes = None

try:
    from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule, TaskFailed
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import EngineError
except ImportError:  # pragma: no cover
    pass

# The Engine's fence agent types (VdsFenceType, 4.5 defaults) and the aliases its FenceAgentMapping accepts.
FENCE_AGENT_TYPES = ("apc", "apc_snmp", "bladecenter", "cisco_ucs", "drac5", "drac7", "eps", "hpblade", "idrac", "ilo",
                     "ilo2", "ilo3", "ilo4", "ilo5", "ilo_ssh", "ipmilan", "redfish", "rsa", "rsb", "wti")
_AGENT = dict(type=dict(type="str", required=True, choices=list(FENCE_AGENT_TYPES)),
              address=dict(type="str", required=True), port=dict(type="int"),
              username=dict(type="str"), password=dict(type="str", no_log=True), options=dict(type="dict"),
              order=dict(type="int"), encrypt_options=dict(type="bool"), concurrent=dict(type="bool"))
COMPARED = ("port", "username", "order", "encrypt_options", "concurrent")


def agent_view(agent):
    """What the Engine has, as data (no password: the Engine does not return it)."""
    return {"type": agent.type, "address": agent.address, "port": agent.port, "username": agent.username,
            "order": agent.order, "encrypt_options": agent.encrypt_options, "concurrent": agent.concurrent,
            "options": dict((o.name, o.value) for o in (agent.options or []))}


def wanted_agents(agents):
    out = []
    for i, a in enumerate(agents):
        w = dict(a)
        w["order"] = a["order"] if a["order"] is not None else i + 1
        w["options"] = dict((k, str(v)) for k, v in (a["options"] or {}).items()) if a["options"] is not None else None
        out.append(w)
    return out


def differences(have, want, update_password):
    """Fields of ``want`` that differ from ``have`` (password only with update_password=always)."""
    diff = {}
    for f in COMPARED:
        if want[f] is not None and want[f] != have[f]:
            diff[f] = want[f]
    if want["options"] is not None and want["options"] != have["options"]:
        diff["options"] = want["options"]
    if update_password == "always" and want["password"] is not None:
        diff["password"] = want["password"]
    return diff


def sdk_agent(fields):
    kw = dict((k, v) for k, v in fields.items() if k not in ("options",) and v is not None)
    if fields.get("options") is not None:
        kw["options"] = [otypes.Option(name=k, value=v) for k, v in sorted(fields["options"].items())]
    return otypes.Agent(**kw)


def main():
    module = EngineModule(argument_spec=dict(
        host=dict(type="str", required=True), enabled=dict(type="bool", default=True),
        kdump_detection=dict(type="bool"), agents=dict(type="list", elements="dict", options=_AGENT),
        update_password=dict(type="str", choices=["on_create", "always"], default="on_create"),
        verify=dict(type="bool", default=True), keep_enabled_on_failure=dict(type="bool", default=False)),
        supports_check_mode=True, waits=False)
    p = module.params
    try:
        result = run(module, p)
    except EngineError as exc:
        module.fail_from(exc)
    module.exit_json(**result)


def run(module, p):
    """Plan, change what differs, verify; return the result (main() exits once)."""
    for i, a in enumerate(p["agents"] or []):
        if not (a["address"] or "").strip():
            raise TaskFailed("agents[%d].address: the BMC address must not be empty" % i, field="agents[%d].address" % i)
    hosts = module.client.system_service().hosts_service()
    host = module.require(hosts, p["host"], "host", "host")
    hsvc = hosts.host_service(host.id)
    agents_svc = hsvc.fence_agents_service()
    existing = agents_svc.list()
    have = dict(((a.type, a.address), a) for a in existing)
    plan = {"add": [], "update": [], "remove": []}
    if p["agents"] is not None:
        wanted = wanted_agents(p["agents"])
        keys = [(w["type"], w["address"]) for w in wanted]
        if len(set(keys)) != len(keys):
            raise TaskFailed("agents: each type and address may appear once", field="agents")
        for w in wanted:
            cur = have.get((w["type"], w["address"]))
            if cur is None:
                plan["add"].append(w)
            else:
                d = differences(agent_view(cur), w, p["update_password"])
                if d:
                    plan["update"].append((cur, d))
        plan["remove"] = [a for k, a in have.items() if k not in keys]
    pm = host.power_management
    pm_have = {"enabled": bool(pm and pm.enabled), "kdump_detection": bool(pm and pm.kdump_detection)}
    pm_want = dict(pm_have, enabled=p["enabled"])
    if p["kdump_detection"] is not None:
        pm_want["kdump_detection"] = p["kdump_detection"]
    if p["enabled"] and not (existing if p["agents"] is None else p["agents"]):
        raise TaskFailed("agents: power management on host %s needs at least one fence agent" % p["host"],
                         field="agents")
    changed = bool(plan["add"] or plan["update"] or plan["remove"] or pm_want != pm_have)
    before = {"power_management": pm_have, "agents": [agent_view(a) for a in existing]}
    after_agents = [agent_view(a) for a in existing if a not in plan["remove"]]
    for cur, d in plan["update"]:
        view = [v for v in after_agents if (v["type"], v["address"]) == (cur.type, cur.address)][0]
        view.update(dict((k, v) for k, v in d.items() if k != "password"))
    for w in plan["add"]:
        after_agents.append(dict((k, v) for k, v in w.items() if k != "password"))
    module.diff = {"before": before, "after": {"power_management": pm_want, "agents": after_agents}}
    result = {"changed": changed, "agents": after_agents, "power_management": pm_want, "verified": None}
    if not changed or module.check_mode:
        return result

    for a in plan["remove"]:
        agents_svc.agent_service(a.id).remove()
    for cur, d in plan["update"]:
        agents_svc.agent_service(cur.id).update(sdk_agent(d))
    for w in plan["add"]:
        module.client.create(
            lambda w=w: agents_svc.add(sdk_agent(w)),
            lambda w=w: next((a for a in agents_svc.list() if (a.type, a.address) == (w["type"], w["address"])), None),
            "fence agent %s at %s" % (w["type"], w["address"]))
    if pm_want != pm_have:
        hsvc.update(otypes.Host(power_management=otypes.PowerManagement(
            enabled=pm_want["enabled"], kdump_detection=pm_want["kdump_detection"])))
    if p["verify"] and pm_want["enabled"]:
        verify(hsvc, p, result)
    return result


def verify(hsvc, p, result):
    try:
        answer = hsvc.fence(fence_type="status")
        status = answer.status.value if answer is not None and answer.status is not None else None
    except EngineError as exc:
        result["verified"] = False
        detail = exc.detail or str(exc)
        agents = ", ".join("%s at %s" % (a["type"], a["address"]) for a in result["agents"])
        left = "left enabled (keep_enabled_on_failure)"
        if not p["keep_enabled_on_failure"]:
            hsvc.update(otypes.Host(power_management=otypes.PowerManagement(enabled=False)))
            result["power_management"]["enabled"] = False
            left = "disabled again"
        raise TaskFailed("host %s: fence agent %s did not answer a status check: %s; power management %s" % (
            p["host"], agents, detail.strip("[]"), left), **result)
    result["verified"] = True
    result["power_management"]["status"] = status


if __name__ == "__main__":
    main()
