#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: backup_info
short_description: The restore points of a backup repository, per VM
version_added: 0.1.0
description:
  - Lists the points M(sre.ovirt.vm_backup) wrote, per VM - each point's type, the chain it needs, its size,
    age, and whether it was verified by a restore. Reads the repository only; talks to no Engine.
author:
  - SRE oVirt team (@sre-ovirt)
options:
  repository:
    description: The backup repository.
    type: path
    required: true
  vm:
    description: Only this VM (its name as backed up).
    type: str
  max_age:
    description: The RPO - a VM whose newest good point is older than this many hours is not C(fresh).
    type: float
    default: 26
  record:
    description:
      - Record each VM's freshness for the C(backup-freshness) SLO - a C(backup_fresh) sample (1 or 0) covering
        O(interval) seconds in the SLI ledger, and the gauges C(sre_ovirt_backup_fresh) and
        C(sre_ovirt_backup_age_seconds) per VM in the Pushgateway, when the SLO policy names one. The vm_backup role
        does this after each run. Recording twice in one interval records once.
    type: bool
    default: false
  interval:
    description: Seconds one recorded sample stands for (the backup schedule's period).
    type: int
    default: 86400
extends_documentation_fragment:
  - sre.ovirt.slo_policy
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: This module only reads.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
notes:
  - Not in the C(group/sre.ovirt.engine) action group - it takes no Engine connection.
"""

EXAMPLES = r"""
- name: What can web1 be restored to?
  sre.ovirt.backup_info:
    repository: /srv/backups/ovirt
    vm: web1
  register: points
"""

RETURN = r"""
recorded:
  description: How many freshness samples were recorded (O(record)).
  returned: always
  type: int
vms:
  description: One entry per VM - name, id, points (oldest first) and the age of the newest good point.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The VM's name at its newest point.
      type: str
    id:
      description: The VM's id.
      type: str
    newest_age_seconds:
      description: Age of the newest usable point (good, with a whole good chain).
      type: float
    fresh:
      description: Whether that age is within O(max_age).
      type: bool
    last_verified_at:
      description: When a restore drill last proved one of its points (C(null) - never).
      type: str
    offsite:
      description: Per bucket M(sre.ovirt.backup_offsite) copied to - C(url), C(synced_at) (its last run),
        C(points) (how many of this VM's points the bucket held then), C(newest), C(missing) (usable local points
        not in the bucket).
      type: list
      elements: dict
    points:
      description: id, type, parent, chain (ids, full first), bytes (this point), chain_bytes, finished_at,
        age_seconds, status (good/bad), verified_at, checkpoint_id, disks (aliases).
      type: list
      elements: dict
"""

import time

from ansible.module_utils.basic import AnsibleModule

try:
    from ansible_collections.sre.ovirt.plugins.module_utils.backup.offsite import read_state
    from ansible_collections.sre.ovirt.plugins.module_utils.backup.repository import Repository, RepositoryError
    from ansible_collections.sre.ovirt.plugins.module_utils.sli import record as sli_record
    from ansible_collections.sre.ovirt.plugins.module_utils.slo.policy import (
        SLO_POLICY_ARGUMENT_SPEC, GateError, resolve)
except ImportError:  # pragma: no cover
    SLO_POLICY_ARGUMENT_SPEC = {}


def describe(repo, vm_id, now, max_age=None):
    points = repo.points(vm_id)
    by_id = dict((p["id"], p) for p in points)
    out = []
    for p in points:
        chain = [p["id"]]
        while by_id.get(chain[0], {}).get("parent") in by_id:
            chain.insert(0, by_id[chain[0]]["parent"])
        out.append(dict(id=p["id"], type=p["type"], parent=p.get("parent"), chain=chain, bytes=p.get("bytes", 0),
                        chain_bytes=sum(by_id[c].get("bytes", 0) for c in chain), finished_at=p["finished_at"],
                        age_seconds=round(now - p["finished_epoch"], 1), status=p.get("status", "good"),
                        verified_at=p.get("verified_at"), checkpoint_id=p.get("checkpoint_id"),
                        disks=[d["alias"] for d in p["disks"]]))
    usable = repo.usable(vm_id)
    age = round(now - usable[-1]["finished_epoch"], 1) if usable else None
    verified = [p["verified_at"] for p in points if p.get("verified_at")]
    offsite = []
    for url, state in sorted(read_state(repo.path).items()):
        there = set(state.get("vms", {}).get(vm_id, []))
        offsite.append(dict(url=url, synced_at=state.get("synced_at"), points=len(there),
                            newest=max(there) if there else None,
                            missing=[p["id"] for p in usable if p["id"] not in there]))
    return dict(id=vm_id, name=points[-1]["vm"]["name"] if points else None, points=out,
                newest_age_seconds=age, fresh=age is not None and max_age is not None and age <= max_age,
                last_verified_at=max(verified) if verified else None, offsite=offsite)


def record(module, vms, interval, now):
    """backup_fresh samples into the ledger; gauges into the Pushgateway."""
    policy = resolve(module.params.get("slo_policy"))
    slot = int(now // interval)
    rows = [("backup_fresh", 1.0 if v["fresh"] else 0.0, now, float(interval), v["name"],
             "%s:%d" % (v["id"], slot)) for v in vms]
    sli_record.flush(policy, rows, warn=module.warn)
    url = (policy or {}).get("pushgateway_url")
    if url:
        try:
            sli_record.push_gauges(url, "sre_ovirt_backup", {
                "sre_ovirt_backup_fresh": [({"vm": v["name"]}, 1 if v["fresh"] else 0) for v in vms],
                "sre_ovirt_backup_age_seconds": [({"vm": v["name"]}, v["newest_age_seconds"]) for v in vms
                                                 if v["newest_age_seconds"] is not None]})
        except Exception as exc:  # noqa: BLE001 - a Pushgateway outage must not fail the report
            module.warn("backup freshness not pushed to %s: %s" % (url, exc))
    return len(rows)


def main():
    spec = dict(repository=dict(type="path", required=True), vm=dict(type="str"),
                max_age=dict(type="float", default=26.0), record=dict(type="bool", default=False),
                interval=dict(type="int", default=86400))
    spec.update(SLO_POLICY_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    try:
        repo = Repository(p["repository"]).open()
        now = time.time()
        vms = [describe(repo, vm_id, now, p["max_age"] * 3600) for vm_id in repo.vm_ids()]
    except RepositoryError as exc:
        module.fail_json(msg=str(exc), field=exc.field)
    except GateError as exc:
        module.fail_json(msg=str(exc), field=exc.field)
    if p["vm"]:
        vms = [v for v in vms if v["name"] == p["vm"]]
    recorded = 0
    if p["record"] and not module.check_mode:
        try:
            recorded = record(module, vms, p["interval"], now)
        except GateError as exc:
            module.fail_json(msg=str(exc), field=exc.field)
    module.exit_json(changed=False, vms=vms, recorded=recorded)


if __name__ == "__main__":
    main()
