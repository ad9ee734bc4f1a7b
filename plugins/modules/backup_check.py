#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: backup_check
short_description: Check a backup repository's points - every file against its recorded sha256, every chain whole
version_added: 0.1.0
description:
  - Reads every file of the selected VMs' points and compares its sha256 with the manifest, and checks that each
    incremental's backing chain is present. A damaged point is marked C(status=bad) with the reason (the file it
    names); M(sre.ovirt.vm_backup) never builds on it again and M(sre.ovirt.vm_restore) never picks it.
  - Talks to no Engine, so the SLO gate never applies - checking existing points is never blocked. The restore
    drill that proves a point can boot is M(sre.ovirt.vm_restore) with O(sre.ovirt.vm_restore#module:record_verification)
    (C(playbooks/backup_verify.yml)).
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
  mark_bad:
    description: Mark damaged points C(bad) in their manifests.
    type: bool
    default: true
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Checks everything, marks nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
notes:
  - Not in the C(group/sre.ovirt.engine) action group - it takes no Engine connection.
"""

EXAMPLES = r"""
- name: Check every point, mark damaged ones
  sre.ovirt.backup_check:
    repository: /srv/backups/ovirt
  register: check
"""

RETURN = r"""
checked:
  description: Points checked.
  returned: always
  type: int
bytes:
  description: Bytes read.
  returned: always
  type: int
damaged:
  description: The damaged points - vm, point, reason (naming the file).
  returned: always
  type: list
  elements: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

try:
    from ansible_collections.sre.ovirt.plugins.module_utils.backup import images
    from ansible_collections.sre.ovirt.plugins.module_utils.backup.repository import Repository, RepositoryError
except ImportError:  # pragma: no cover
    pass


def check_point(point, by_id):
    """None when every file of the point matches its sha256 and its parent is there, else the reason."""
    if point.get("parent") and point["parent"] not in by_id:
        return "its parent point %s is missing" % point["parent"]
    for rec in point["disks"]:
        path = os.path.join(point["path"], rec["file"])
        try:
            actual = images.file_sha256(path)
        except (IOError, OSError) as exc:
            return "%s cannot be read: %s" % (path, exc.strerror or exc)
        if rec.get("file_sha256") and actual != rec["file_sha256"]:
            return "%s is damaged (sha256 %s, recorded %s)" % (path, actual, rec["file_sha256"])
    return None


def main():
    module = AnsibleModule(argument_spec=dict(repository=dict(type="path", required=True), vm=dict(type="str"),
                                              mark_bad=dict(type="bool", default=True)),
                           supports_check_mode=True)
    p = module.params
    checked, read, damaged = 0, 0, []
    try:
        repo = Repository(p["repository"]).open()
        for vm_id in repo.vm_ids():
            points = repo.points(vm_id)
            if not points or (p["vm"] and points[-1]["vm"]["name"] != p["vm"]):
                continue
            by_id = dict((pt["id"], pt) for pt in points)
            for point in points:
                if point.get("status", "good") != "good":
                    continue
                checked += 1
                read += sum(int(d.get("file_size") or 0) for d in point["disks"])
                why = check_point(point, by_id)
                if why is None:
                    continue
                damaged.append(dict(vm=point["vm"]["name"], vm_id=vm_id, point=point["id"], reason=why))
                if p["mark_bad"] and not module.check_mode:
                    repo.mark(vm_id, point["id"], False, reason=why)
    except RepositoryError as exc:
        module.fail_json(msg=str(exc), field=exc.field)
    changed = bool(damaged) and p["mark_bad"]
    msg = "%d point(s) checked, %d damaged" % (checked, len(damaged))
    module.exit_json(changed=changed, checked=checked, bytes=read, damaged=damaged, msg=msg)


if __name__ == "__main__":
    main()
