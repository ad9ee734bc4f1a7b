#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: cluster_ha
short_description: A cluster's resilience and fencing policy, HA reservation and affinity groups
version_added: 0.1.0
description:
  - Sets how the cluster reacts to a failed host - which VMs migrate on error, whether and when the Engine fences
    a non-responsive host (never when a storage domain is still active for it, or when more hosts than the
    threshold lost connectivity), HA reservation - and its affinity groups.
  - Exact and idempotent; check mode and diff. Only the options given are managed.
author:
  - SRE oVirt team (@sre-ovirt)
extends_documentation_fragment:
  - sre.ovirt.engine
  - sre.ovirt.slo_policy
  - sre.ovirt.attributes
options:
  name:
    description: Cluster name.
    type: str
    required: true
  on_error:
    description: Resilience policy - which VMs migrate away from a host that fails.
    type: str
    choices: [migrate, migrate_highly_available, do_not_migrate]
  fencing:
    description: Fencing policy.
    type: dict
    suboptions:
      enabled:
        description: Let the Engine fence non-responsive hosts.
        type: bool
      skip_if_sd_active:
        description: Do not fence a host that still renews its storage domain lease.
        type: bool
      skip_if_connectivity_broken:
        description: Do not fence when too many hosts lost connectivity at once.
        type: bool
      connectivity_threshold:
        description: Percentage of the cluster's hosts that, when non-responsive together, stops fencing.
        type: int
  ha_reservation:
    description: Keep capacity to restart the HA VMs of a failed host.
    type: bool
  affinity_groups:
    description: Affinity groups, each set exactly as given.
    type: list
    elements: dict
    suboptions:
      name:
        description: Group name.
        type: str
        required: true
      state:
        description: Present or absent.
        type: str
        choices: [present, absent]
        default: present
      positive:
        description: Keep the VMs together (C(true)) or apart (C(false)).
        type: bool
        default: false
      enforcing:
        description: A hard rule (the scheduler refuses to break it) or a soft one.
        type: bool
        default: true
      vms:
        description: Member VMs; an empty list empties the group.
        type: list
        elements: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Fence carefully, keep the databases apart
  sre.ovirt.cluster_ha:
    name: Default
    on_error: migrate_highly_available
    fencing:
      enabled: true
      skip_if_sd_active: true
      skip_if_connectivity_broken: true
      connectivity_threshold: 50
    affinity_groups:
      - name: db-apart
        positive: false
        enforcing: true
        vms: [db01, db02]
"""

RETURN = r"""
cluster:
  description: The cluster's HA settings after the run.
  returned: always
  type: dict
"""

try:
    from ovirtsdk4 import types as otypes
except ImportError:  # pragma: no cover
    otypes = None

try:
    from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule, TaskFailed
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import EngineError, where
except ImportError:  # pragma: no cover
    pass

_GROUP = dict(name=dict(type="str", required=True),
              state=dict(type="str", choices=["present", "absent"], default="present"),
              positive=dict(type="bool", default=False), enforcing=dict(type="bool", default=True),
              vms=dict(type="list", elements="str"))
_FENCING = dict(enabled=dict(type="bool"), skip_if_sd_active=dict(type="bool"),
                skip_if_connectivity_broken=dict(type="bool"), connectivity_threshold=dict(type="int"))


def fencing_view(fp):
    sda, sic = (fp.skip_if_sd_active, fp.skip_if_connectivity_broken) if fp is not None else (None, None)
    return {"enabled": bool(fp and fp.enabled), "skip_if_sd_active": bool(sda and sda.enabled),
            "skip_if_connectivity_broken": bool(sic and sic.enabled),
            "connectivity_threshold": sic.threshold if sic is not None and sic.threshold is not None else 50}


def group_view(g, names):
    rule = g.vms_rule
    positive = rule.positive if rule is not None and rule.positive is not None else bool(g.positive)
    enforcing = rule.enforcing if rule is not None and rule.enforcing is not None else bool(g.enforcing)
    return {"positive": positive, "enforcing": enforcing, "vms": sorted(names.get(v.id, v.id) for v in (g.vms or []))}


def main():
    module = EngineModule(argument_spec=dict(
        name=dict(type="str", required=True),
        on_error=dict(type="str", choices=["migrate", "migrate_highly_available", "do_not_migrate"]),
        fencing=dict(type="dict", options=_FENCING), ha_reservation=dict(type="bool"),
        affinity_groups=dict(type="list", elements="dict", options=_GROUP)),
        supports_check_mode=True, waits=False)
    p = module.params
    t = (p["fencing"] or {}).get("connectivity_threshold")
    if t is not None and not 0 <= t <= 100:
        module.fail_json(msg="fencing.connectivity_threshold: a percentage 0-100, got %d" % t,
                         field="fencing.connectivity_threshold")
    try:
        result = run(module, p)
    except EngineError as exc:
        module.fail_from(exc)
    module.exit_json(**result)


def run(module, p):
    system = module.client.system_service()
    cluster = module.require(system.clusters_service(), p["name"], "cluster", "name")
    csvc = system.clusters_service().cluster_service(cluster.id)
    groups_svc = csvc.affinity_groups_service()
    groups = dict((g.name, g) for g in groups_svc.list(follow="vms")) if p["affinity_groups"] is not None else {}
    vm_names = {}
    if p["affinity_groups"] is not None:
        vm_names = dict((v.id, v.name) for v in system.vms_service().list(search=where("cluster", p["name"])))
    have = {"on_error": cluster.error_handling.on_error.value if cluster.error_handling else None,
            "fencing": fencing_view(cluster.fencing_policy), "ha_reservation": bool(cluster.ha_reservation),
            "affinity_groups": dict((n, group_view(g, vm_names)) for n, g in groups.items())}
    want = {"on_error": p["on_error"] or have["on_error"], "fencing": dict(have["fencing"]),
            "ha_reservation": have["ha_reservation"] if p["ha_reservation"] is None else p["ha_reservation"],
            "affinity_groups": dict(have["affinity_groups"])}
    for k, v in (p["fencing"] or {}).items():
        if v is not None:
            want["fencing"][k] = v
    ids = dict((n, i) for i, n in vm_names.items())
    for g in p["affinity_groups"] or []:
        if g["state"] == "absent":
            want["affinity_groups"].pop(g["name"], None)
            continue
        unknown = sorted(set(g["vms"] or []) - set(ids))
        if unknown:
            raise TaskFailed("affinity_groups[%s].vms: no VM named %s in cluster %s" % (
                g["name"], ", ".join(unknown), p["name"]), field="affinity_groups.vms")
        old = have["affinity_groups"].get(g["name"], {"vms": []})
        want["affinity_groups"][g["name"]] = {"positive": g["positive"], "enforcing": g["enforcing"],
                                              "vms": sorted(g["vms"]) if g["vms"] is not None else old["vms"]}
    changed = want != have
    module.diff = {"before": have, "after": want}
    if changed and not module.check_mode:
        apply(module.client, csvc, groups_svc, groups, have, want, ids)
    return dict(changed=changed, cluster=want)


def apply(client, csvc, groups_svc, groups, have, want, ids):
    patch, dirty = otypes.Cluster(), False
    if want["on_error"] != have["on_error"]:
        patch.error_handling = otypes.ErrorHandling(on_error=otypes.MigrateOnError(want["on_error"]))
        dirty = True
    if want["fencing"] != have["fencing"]:
        f = want["fencing"]
        patch.fencing_policy = otypes.FencingPolicy(
            enabled=f["enabled"], skip_if_sd_active=otypes.SkipIfSdActive(enabled=f["skip_if_sd_active"]),
            skip_if_connectivity_broken=otypes.SkipIfConnectivityBroken(
                enabled=f["skip_if_connectivity_broken"], threshold=f["connectivity_threshold"]))
        dirty = True
    if want["ha_reservation"] != have["ha_reservation"]:
        patch.ha_reservation = want["ha_reservation"]
        dirty = True
    if dirty:
        csvc.update(patch)
    for name in set(have["affinity_groups"]) - set(want["affinity_groups"]):
        groups_svc.group_service(groups[name].id).remove()
    for name, g in want["affinity_groups"].items():
        old = have["affinity_groups"].get(name)
        if old == g:
            continue
        rule = otypes.AffinityRule(enabled=True, positive=g["positive"], enforcing=g["enforcing"])
        if old is None:
            client.create(
                lambda name=name, g=g, rule=rule: groups_svc.add(otypes.AffinityGroup(
                    name=name, positive=g["positive"], enforcing=g["enforcing"], vms_rule=rule,
                    vms=[otypes.Vm(id=ids[v]) for v in g["vms"]])),
                lambda name=name: next((x for x in groups_svc.list() if x.name == name), None),
                "affinity group %s" % name)
            continue
        gsvc = groups_svc.group_service(groups[name].id)
        if (old["positive"], old["enforcing"]) != (g["positive"], g["enforcing"]):
            gsvc.update(otypes.AffinityGroup(positive=g["positive"], enforcing=g["enforcing"], vms_rule=rule))
        for v in sorted(set(g["vms"]) - set(old["vms"])):
            gsvc.vms_service().add(otypes.Vm(id=ids[v]))
        for v in sorted(set(old["vms"]) - set(g["vms"])):
            gsvc.vms_service().vm_service(ids[v]).remove()


if __name__ == "__main__":
    main()
