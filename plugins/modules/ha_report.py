#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ha_report
short_description: Would HA actually work now? Per host, per VM and per cluster, with the reasons
version_added: 0.1.0
description:
  - For every host it predicts what the Engine would do if the host died now - fence it (cluster fencing
    policy, power management enabled, an agent, the last verification not failed, a proxy host up) or not - and
    which HA VMs would come back, in which order (priority, then name), and where (free memory on the other up
    hosts, with the cluster's over-commit); HA VMs without a lease on a host that cannot be fenced stay down.
  - Per cluster, C(n_plus_one) says whether the HA VMs of any one failed host would all fit.
  - C(problems) lists every way HA would not work as configured; each is also an Ansible warning.
  - Only reads. The prediction covers memory and pinning, not CPU or soft affinity.
author:
  - SRE oVirt team (@sre-ovirt)
extends_documentation_fragment:
  - sre.ovirt.engine
  - sre.ovirt.slo_policy.read_only
  - sre.ovirt.attributes.info_module
options:
  cluster:
    description: Only this cluster.
    type: str
"""

EXAMPLES = r"""
- name: Would HA work if a host died now?
  sre.ovirt.ha_report:
    cluster: Default
  register: ha

- name: Stop if not
  ansible.builtin.assert:
    that: ha.problems | length == 0
    fail_msg: "{{ ha.problems }}"
"""

RETURN = r"""
hosts:
  description:
    - Per host - C(status), C(pm_enabled), C(agents), C(last_verified) (C(ok) or C(failed) from the Engine's
      events 496/497, or null), C(fenceable) and C(why_not).
  returned: always
  type: list
  elements: dict
vms:
  description: Per VM - C(ha), C(priority), C(lease), C(host), C(status), C(would_restart), C(why_not).
  returned: always
  type: list
  elements: dict
predictions:
  description:
    - Per host - if it failed now, C(restart_order) (HA VMs that would come back, first to last, with the host
      each would land on), C(stay_down) (VMs that would not come back) and C(unplaced) (HA VMs with no room).
  returned: always
  type: list
  elements: dict
clusters:
  description: Per cluster - fencing policy, C(on_error), C(hosts_up) and C(n_plus_one).
  returned: always
  type: list
  elements: dict
problems:
  description: Every way HA would not work now (each is also reported as a warning).
  returned: always
  type: list
  elements: str
"""

try:
    from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import EngineError, of_types, where
    from ansible_collections.sre.ovirt.plugins.module_utils.model.capacity import (
        memory_overcommit_percent, schedulable_memory)
    from ansible_collections.sre.ovirt.plugins.module_utils.model.events import VDS_FENCE_STATUS, VDS_FENCE_STATUS_FAILED
    from ansible_collections.sre.ovirt.plugins.module_utils.model.vm_status import LOST_WITH_HOST
except ImportError:  # pragma: no cover
    pass


def fenceable(host, cluster, agents, verified, peers_up):
    fp = cluster.fencing_policy
    if fp is None or not fp.enabled:
        return False, "fencing is disabled in cluster %s" % cluster.name
    if not (host.power_management and host.power_management.enabled):
        return False, "power management is not enabled on %s" % host.name
    if not agents:
        return False, "%s has no fence agent" % host.name
    if verified == "failed":
        return False, "the last power management check of %s failed" % host.name
    if not [h for h in peers_up if h.id != host.id]:
        return False, "no other up host can act as fence proxy for %s" % host.name
    return True, None


def predict(failed, hosts, vms, cluster, can_fence):
    """What happens to ``failed``'s VMs: restart order with target hosts, VMs that stay down, unplaced."""
    pct = memory_overcommit_percent(cluster)
    free = {}
    for h in hosts:
        if h.id != failed.id and h.status.value == "up":
            used = sum(v.memory or 0 for v in vms if v.host is not None and v.host.id == h.id
                       and v.status.value in LOST_WITH_HOST)
            free[h.id] = schedulable_memory(h, pct) - used
    names = dict((h.id, h.name) for h in hosts)
    lost = [v for v in vms if v.host is not None and v.host.id == failed.id and v.status.value in LOST_WITH_HOST]
    ha = [v for v in lost if v.high_availability and v.high_availability.enabled]
    ha.sort(key=lambda v: (-(v.high_availability.priority or 0), v.name))
    order, stay, unplaced = [], sorted(v.name for v in lost if v not in ha), []
    for v in ha:
        if not can_fence and v.lease is None:
            stay.append(v.name)
            continue
        allowed = free
        pp = v.placement_policy
        if pp is not None and pp.hosts:
            allowed = dict((k, m) for k, m in free.items() if k in [h.id for h in pp.hosts])
        fits = sorted(((m, names[k]) for k, m in allowed.items() if m >= (v.memory or 0)),
                      key=lambda x: (-x[0], x[1]))
        if not fits:
            unplaced.append(v.name)
            continue
        target = [k for k in free if names[k] == fits[0][1]][0]
        free[target] -= v.memory or 0
        order.append({"vm": v.name, "priority": v.high_availability.priority or 0, "host": names[target],
                      "via": "fencing" if can_fence else "lease"})
    return {"host": failed.name, "fenced": can_fence, "restart_order": order, "stay_down": sorted(stay),
            "unplaced": unplaced}


def main():
    module = EngineModule(argument_spec=dict(cluster=dict(type="str")), supports_check_mode=True, waits=False,
                          mutating=False)
    try:
        out = report(module.client.system_service(), module.params["cluster"])
    except EngineError as exc:
        module.fail_from(exc)
    for problem in out["problems"]:
        module.warn(problem)
    module.exit_json(changed=False, **out)


def report(system, only=None):
    clusters = system.clusters_service().list(search=where("name", only) if only else None)
    out = {"hosts": [], "vms": [], "predictions": [], "clusters": [], "problems": []}
    events = system.events_service().list(search=of_types(VDS_FENCE_STATUS, VDS_FENCE_STATUS_FAILED), max=500)
    verified = {}
    for e in sorted(events, key=lambda e: int(e.id)):
        if e.host is not None:
            verified[e.host.id] = "ok" if e.code == 496 else "failed"
    sds = dict((s.id, s.name) for s in system.storage_domains_service().list())
    for cluster in clusters:
        hosts = system.hosts_service().list(search=where("cluster", cluster.name))
        vms = system.vms_service().list(search=where("cluster", cluster.name))
        names = dict((h.id, h.name) for h in hosts)
        up = [h for h in hosts if h.status.value == "up"]
        fence = {}
        for h in hosts:
            agents = system.hosts_service().host_service(h.id).fence_agents_service().list()
            ok, why = fenceable(h, cluster, agents, verified.get(h.id), up)
            fence[h.id] = ok
            out["hosts"].append({"name": h.name, "cluster": cluster.name, "status": h.status.value,
                                 "pm_enabled": bool(h.power_management and h.power_management.enabled),
                                 "agents": len(agents), "last_verified": verified.get(h.id), "fenceable": ok,
                                 "why_not": why})
            if not ok:
                out["problems"].append("host %s cannot be fenced: %s" % (h.name, why))
            elif verified.get(h.id) is None:
                out["problems"].append("host %s: power management was never verified" % h.name)
        worst = None
        for h in up:
            pred = predict(h, hosts, vms, cluster, fence[h.id])
            out["predictions"].append(pred)
            if pred["unplaced"] and worst is None:
                worst = h.name
                out["problems"].append("cluster %s is not N+1: if %s failed, no room for %s" % (
                    cluster.name, h.name, ", ".join(pred["unplaced"])))
        for v in vms:
            ha = v.high_availability
            is_ha = bool(ha and ha.enabled)
            host_ok = fence.get(v.host.id) if v.host is not None else None
            would = is_ha and (v.lease is not None or bool(host_ok))
            why = None
            if is_ha and not would:
                why = "no lease, and its host %s cannot be fenced" % names.get(v.host.id, "?") if v.host else \
                    "not running"
                if v.host is not None:
                    out["problems"].append("HA VM %s would stay down if %s failed: %s" % (
                        v.name, names.get(v.host.id), why))
            out["vms"].append({"name": v.name, "ha": is_ha, "priority": ha.priority if ha else None,
                               "lease": sds.get(v.lease.storage_domain.id) if v.lease is not None and
                               v.lease.storage_domain is not None else None,
                               "host": names.get(v.host.id) if v.host is not None else None,
                               "status": v.status.value, "would_restart": would if is_ha else None,
                               "why_not": why})
        fp = cluster.fencing_policy
        sic = fp.skip_if_connectivity_broken if fp is not None else None
        out["clusters"].append({
            "name": cluster.name, "on_error": cluster.error_handling.on_error.value if cluster.error_handling else None,
            "fencing_enabled": bool(fp and fp.enabled),
            "skip_if_sd_active": bool(fp and fp.skip_if_sd_active and fp.skip_if_sd_active.enabled),
            "skip_if_connectivity_broken": bool(sic and sic.enabled),
            "connectivity_threshold": sic.threshold if sic is not None else None,
            "hosts_up": len(up), "n_plus_one": worst is None})
    return out


if __name__ == "__main__":
    main()
