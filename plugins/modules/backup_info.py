#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

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
      description: Age of the newest good point.
      type: float
    points:
      description: id, type, parent, chain (ids, full first), bytes (this point), chain_bytes, finished_at,
        age_seconds, status (good/bad), verified_at, checkpoint_id, disks (aliases).
      type: list
      elements: dict
"""

import time

from ansible.module_utils.basic import AnsibleModule

try:
    from ansible_collections.sre.ovirt.plugins.module_utils.backup.repository import Repository, RepositoryError
except ImportError:  # pragma: no cover
    pass


def describe(repo, vm_id, now):
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
    good = [p for p in out if p["status"] == "good"]
    return dict(id=vm_id, name=points[-1]["vm"]["name"] if points else None, points=out,
                newest_age_seconds=good[-1]["age_seconds"] if good else None)


def main():
    module = AnsibleModule(argument_spec=dict(repository=dict(type="path", required=True), vm=dict(type="str")),
                           supports_check_mode=True)
    try:
        repo = Repository(module.params["repository"]).open()
        now = time.time()
        vms = [describe(repo, vm_id, now) for vm_id in repo.vm_ids()]
    except RepositoryError as exc:
        module.fail_json(msg=str(exc), field=exc.field)
    if module.params["vm"]:
        vms = [v for v in vms if v["name"] == module.params["vm"]]
    module.exit_json(changed=False, vms=vms)


if __name__ == "__main__":
    main()
