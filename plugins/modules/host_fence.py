#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_fence
short_description: Fence a host through its BMC - with the judgement that keeps a fence from making things worse
version_added: 0.1.0
description:
  - Runs C(status), C(start), C(stop) or C(restart) through the Engine's power management, waits for the
    result, and reports what happened to the host's HA VMs.
  - Before anything is sent it refuses, with the reason, to stop or restart the last C(up) host of a cluster; a
    host while another fence in the same cluster is in progress; any host when more than O(storm_limit) of the
    cluster is non-responsive (a network partition looks like many dead hosts, and fencing them all is a storm);
    and a host holding live storage leases of running VMs unless O(confirm_leases=true).
  - For the SLO gate this is a C(remediation) - it passes with a spent error budget and is recorded.
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
    description: The power management operation.
    type: str
    choices: [status, start, stop, restart]
    default: restart
  storm_limit:
    description: Refuse when more than this share of the cluster's hosts is non-responsive.
    type: float
    default: 0.5
  confirm_leases:
    description:
      - Fence even though the host holds storage leases of VMs that may still be running there (the operator
        knows the host is dead, not just unreachable).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Reports the refusal or the fence that would be sent; sends nothing.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Restart a hung host, then see where its HA VMs went
  sre.ovirt.host_fence:
    host: host02
    action: restart
  register: fenced

- name: Ask the BMC only
  sre.ovirt.host_fence:
    host: host02
    action: status
"""

RETURN = r"""
power:
  description: The BMC's answer to C(status) (C(on), C(off), C(unknown)).
  returned: when action is status
  type: str
host_status:
  description: The host's status at the end.
  returned: always
  type: str
vms:
  description: The VMs that were on the host, where they are now (C(name), C(ha), C(priority), C(status), C(host)).
  returned: always
  type: list
  elements: dict
refused:
  description: Why the fence was refused (the task fails).
  returned: on refusal
  type: str
"""

try:
    from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule, TaskFailed
    from ansible_collections.sre.ovirt.plugins.module_utils.client.wait import wait_for
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import EngineError, where
except ImportError:  # pragma: no cover
    pass

LOST = ("non_responsive", "connecting", "down")


def judge(host, peers, vms_on_host, p):
    """Why this fence must not be sent now (None when it may)."""
    name = host.name
    up = [h for h in peers if h.status.value == "up"]
    if p["action"] in ("stop", "restart") and host.status.value == "up" and [h.name for h in up] == [name]:
        return "%s is the last up host of its cluster: stopping it stops every VM there" % name
    busy = [h.name for h in peers if h.name != name and h.status.value in ("reboot", "kdumping")]
    if busy and p["action"] != "status":
        return "a fence is already in progress in the cluster (%s); wait for it to finish" % ", ".join(busy)
    lost = [h.name for h in peers if h.status.value in LOST]
    if p["action"] != "status" and peers and float(len(lost)) / len(peers) > p["storm_limit"]:
        return ("%d of %d hosts of the cluster are not responding (%s), more than the storm limit %d%%: this looks "
                "like a network partition, and fencing would turn it into an outage" % (
                    len(lost), len(peers), ", ".join(sorted(lost)), p["storm_limit"] * 100))
    leased = [v.name for v in vms_on_host if v.lease is not None and v.status.value != "down"]
    if leased and p["action"] in ("stop", "restart") and not p["confirm_leases"]:
        return ("%s holds the storage leases of VMs that may still be running (%s); set confirm_leases: true if "
                "you know the host is dead" % (name, ", ".join(sorted(leased))))
    return None


def vm_report(vms_service, ids, hosts_by_id):
    out = []
    for vid in ids:
        try:
            v = vms_service.vm_service(vid).get()
        except EngineError:
            continue
        ha = v.high_availability
        out.append({"name": v.name, "ha": bool(ha and ha.enabled), "priority": ha.priority if ha else None,
                    "lease": v.lease is not None, "status": v.status.value,
                    "host": hosts_by_id.get(v.host.id) if v.host is not None else None})
    return sorted(out, key=lambda r: (not r["ha"], -(r["priority"] or 0), r["name"]))


def main():
    module = EngineModule(argument_spec=dict(
        host=dict(type="str", required=True),
        action=dict(type="str", choices=["status", "start", "stop", "restart"], default="restart"),
        storm_limit=dict(type="float", default=0.5), confirm_leases=dict(type="bool", default=False)),
        supports_check_mode=True, change_class="remediation")
    try:
        result = run(module, module.params)
    except EngineError as exc:
        module.fail_from(exc)
    module.exit_json(**result)


def run(module, p):
    system = module.client.system_service()
    hosts = system.hosts_service()
    host = module.require(hosts, p["host"], "host", "host")
    peers = hosts.list(search=where("cluster", system.clusters_service().cluster_service(host.cluster.id).get().name))
    hosts_by_id = dict((h.id, h.name) for h in peers)
    vms_service = system.vms_service()
    on_host = vms_service.list(search=where("host", p["host"]))
    ids = [v.id for v in on_host]
    why = judge(host, peers, on_host, p)
    if why:
        raise TaskFailed("refusing to %s host %s: %s" % (p["action"], p["host"], why), refused=why,
                         host_status=host.status.value, vms=vm_report(vms_service, ids, hosts_by_id))
    hsvc = hosts.host_service(host.id)
    if p["action"] == "status":
        answer = hsvc.fence(fence_type="status")
        return dict(changed=False, power=answer.status.value if answer and answer.status else None,
                    host_status=host.status.value, vms=vm_report(vms_service, ids, hosts_by_id))
    if module.check_mode:
        return dict(changed=True, host_status=host.status.value, vms=vm_report(vms_service, ids, hosts_by_id))
    hsvc.fence(fence_type=p["action"])
    final = host
    if p["wait"]:
        wanted = ("down",) if p["action"] == "stop" else ("up",)
        holder = {}

        def fetch():
            holder["h"] = hsvc.get()
            return holder["h"]
        wait_for(fetch, done=lambda h: h.status.value in wanted,
                 failed=lambda h: h.status.value in ("install_failed",),
                 timeout=p["timeout"], interval=p["poll_interval"],
                 describe=lambda h: "host %s is %s" % (p["host"], h.status.value),
                 what="host %s to be %s after %s" % (p["host"], "/".join(wanted), p["action"]),
                 latest_error=lambda: module.latest_error_event(host_id=host.id))
        final = holder["h"]
        # The HA VMs that were there restart elsewhere: wait until none is still on its way.
        wait_for(lambda: vm_report(vms_service, ids, hosts_by_id),
                 done=lambda rows: all(r["status"] in ("up", "down") for r in rows),
                 timeout=p["timeout"], interval=p["poll_interval"], what="the host's VMs to settle")
    return dict(changed=True, host_status=final.status.value, vms=vm_report(vms_service, ids, hosts_by_id))


if __name__ == "__main__":
    main()
