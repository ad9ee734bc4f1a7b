#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: backup_retention
short_description: Remove old restore points by a keep-last/hourly/daily/weekly/monthly/yearly/within policy
version_added: 0.1.0
description:
  - Applies a retention policy with the restic/borg vocabulary to the points M(sre.ovirt.vm_backup) wrote, per VM,
    in the local repository.
  - Bucket rules keep the newest point of each of the N newest hours, days, ISO weeks, months or years (UTC) that
    have a point; O(keep_last) keeps the N newest points; O(keep_within) keeps every point less than the duration
    older than the VM's newest point. A point kept by any rule stays; the newest usable point always stays.
  - Chain-aware - a kept incremental whose parent goes is merged first, with C(qemu-img), onto its nearest kept
    ancestor (or into a full when none is kept), proven by the guest-visible sha256 before it replaces the old file,
    so no chain ever breaks. Points with status C(bad), and points that read through one, are never kept.
  - Then removes the Engine's checkpoints older than the checkpoint of the VM's oldest remaining point, oldest
    first (they hold one dirty bitmap per volume each). When the VM is no longer on the Engine this part is
    skipped and the result's O(ignore:vms[].note) says so.
  - For the SLO gate retention is C(protection) - never blocked by a spent error budget; the gate log records it.
  - Needs C(qemu-img) and C(qemu-nbd) where the module runs and the C(ovirt-imageio) Python package.
author:
  - SRE oVirt team (@sre-ovirt)
extends_documentation_fragment:
  - sre.ovirt.engine
  - sre.ovirt.wait
  - sre.ovirt.slo_policy
  - sre.ovirt.attributes
options:
  repository:
    description: The backup repository.
    type: path
    required: true
  vm:
    description: Only this VM (its name as backed up); every VM of the repository when omitted.
    type: str
  keep_last:
    description: Keep the N newest points.
    type: int
    default: 0
  keep_hourly:
    description: Keep the newest point of each of the N newest hours that have one.
    type: int
    default: 0
  keep_daily:
    description: Keep the newest point of each of the N newest days (UTC) that have one.
    type: int
    default: 0
  keep_weekly:
    description: Keep the newest point of each of the N newest ISO weeks that have one.
    type: int
    default: 0
  keep_monthly:
    description: Keep the newest point of each of the N newest months that have one.
    type: int
    default: 0
  keep_yearly:
    description: Keep the newest point of each of the N newest years that have one.
    type: int
    default: 0
  keep_within:
    description:
      - Keep every point taken less than this long before the VM's newest point - numbers followed by C(y), C(m),
        C(w), C(d), C(h) in that order, for example C(36h), C(14d), C(1y6m).
    type: str
attributes:
  check_mode:
    support: full
    details: Lists what would be kept (and by which rule), removed and merged, and the checkpoints that would be
      removed; changes nothing.
  diff_mode:
    support: full
    details: The points of each VM before and after.
notes:
  - Time is the Engine's - points are stamped with the Engine's clock by M(sre.ovirt.vm_backup) - and the policy
    counts back from the newest point, never from the controller's clock.
seealso:
  - module: sre.ovirt.vm_backup
  - module: sre.ovirt.backup_info
"""

EXAMPLES = r"""
- name: A week of dailies, a month of weeklies, a year of monthlies
  sre.ovirt.backup_retention:
    repository: /srv/backups/ovirt
    keep_daily: 7
    keep_weekly: 4
    keep_monthly: 12

- name: What would go for web1?
  sre.ovirt.backup_retention:
    repository: /srv/backups/ovirt
    vm: web1
    keep_within: 14d
  check_mode: true
  diff: true
"""

RETURN = r"""
vms:
  description: One entry per VM of the repository (or O(vm)).
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
    kept:
      description: The points that stay (oldest first), each with C(id) and C(reasons) - the rules that keep it
        (C(daily 2026-11-27), C(weekly 2026-W48), C(newest)...).
      type: list
      elements: dict
    removed:
      description: The points removed (or, in check mode, that would be), each with C(id) and C(reason).
      type: list
      elements: dict
    consolidated:
      description: Kept points merged onto their nearest kept ancestor C(onto) (C(null) - into a full), with the
        points whose changes they absorbed (C(merges)).
      type: list
      elements: dict
    checkpoints_removed:
      description: The Engine checkpoints removed (or that would be), oldest first.
      type: list
      elements: str
    note:
      description: Why the Engine's checkpoints were not looked at (the VM is gone).
      type: str
"""

import contextlib

try:
    from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule, TaskFailed
    from ansible_collections.sre.ovirt.plugins.module_utils.backup import images, retention
    from ansible_collections.sre.ovirt.plugins.module_utils.backup.repository import Repository, RepositoryError
    from ansible_collections.sre.ovirt.plugins.module_utils.client.errors import EngineNotFound
    from ansible_collections.sre.ovirt.plugins.module_utils.client.wait import wait_for
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import EngineError
    from ansible_collections.sre.ovirt.plugins.module_utils.model.events import epoch
except ImportError:  # pragma: no cover
    pass

POLICY = ("keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly", "keep_within")


def main():
    spec = dict(repository=dict(type="path", required=True), vm=dict(type="str"),
                keep_within=dict(type="str"))
    spec.update((rule, dict(type="int", default=0)) for rule in POLICY[:-1])
    module = EngineModule(argument_spec=spec, supports_check_mode=True, change_class="protection")
    try:
        policy = retention.check_policy(dict((k, module.params[k]) for k in POLICY))
    except retention.PolicyError as exc:
        module.fail_json(msg=str(exc), field=exc.field)
    if not images.HAS_IMAGEIO:
        module.fail_json(msg="the ovirt-imageio Python package is required (pip install ovirt-imageio)")
    try:
        result = run(module, module.params, policy)
    except (RepositoryError, retention.ConsolidationError, images.ImageError, OSError) as exc:
        module.fail_json(msg=str(exc), field=getattr(exc, "field", "repository"))
    except EngineError as exc:
        module.fail_from(exc)
    module.exit_json(**result)


def ordered_checkpoints(vm_service):
    """The VM's checkpoints, root (oldest) first, following ``parent_id``."""
    cps = vm_service.checkpoints_service().list()
    children = dict((c.parent_id, c) for c in cps)
    out, cur = [], None
    while cur in children and len(out) < len(cps):
        out.append(children[cur])
        cur = children[cur].id
    return out + [c for c in cps if c not in out]


def old_checkpoints(vms_service, vm_id, oldest):
    """(checkpoints older than the oldest kept point's, note) - note set when the VM is no longer on the Engine."""
    vm_service = vms_service.vm_service(vm_id)
    try:
        vm_service.get()
    except EngineNotFound:
        return [], "VM %s is no longer on the Engine: its checkpoints were not looked at" % vm_id
    if oldest is None:
        return [], None
    cps = ordered_checkpoints(vm_service)
    ids = [c.id for c in cps]
    if oldest.get("checkpoint_id") in ids:
        return ids[:ids.index(oldest["checkpoint_id"])], None
    # the oldest kept point's checkpoint is gone already: older means created before that point was taken
    start = retention.point_time(oldest)
    return [c.id for c in cps if c.creation_date is not None and epoch(c.creation_date) < start], None


def remove_checkpoint(module, vm_service, cid):
    service = vm_service.checkpoints_service().checkpoint_service(cid)
    service.remove()

    def fetch():
        try:
            return service.get()
        except EngineNotFound:
            return None
    wait_for(fetch, lambda c: c is None, gone_ok=True, timeout=module.params["timeout"],
             interval=module.params["poll_interval"], what="checkpoint %s removed" % cid)


def run(module, p, policy):
    repo = Repository(p["repository"]).open()
    vm_ids = repo.vm_ids()
    if p["vm"]:
        found = repo.find_vm(p["vm"])
        if found is None:
            raise TaskFailed("vm: no VM named %s in repository %s; VMs: %s" % (
                p["vm"], repo.path, ", ".join(sorted(set(
                    pts[-1]["vm"]["name"] for pts in map(repo.points, vm_ids) if pts))) or "none"), field="vm")
        vm_ids = [found]
    vms_service = module.client.system_service().vms_service()
    out, changed = [], False
    for vm_id in vm_ids:
        # nothing else writes this VM's points meanwhile (a backup run of the same VM fails at once, and so would we)
        with (contextlib.nullcontext() if module.check_mode else repo.vm_lock(vm_id, field="vm")):
            entry, steps_taken = one_vm(module, repo, vms_service, vm_id, policy)
        if entry is not None:
            changed = changed or steps_taken
            out.append(entry)
    if not changed:
        module.diff = {"before": {}, "after": {}}
    return dict(changed=changed, vms=out)


def one_vm(module, repo, vms_service, vm_id, policy):
    """Plan and (outside check mode) apply the policy to one VM: (result entry or None, whether it changes)."""
    changed = False
    points = repo.points(vm_id)
    if not points:
        return None, False
    steps = retention.plan(points, policy)
    by_id = dict((pt["id"], pt) for pt in points)
    oldest = by_id[steps["keep"][0]["id"]] if steps["keep"] else None
    cps, note = old_checkpoints(vms_service, vm_id, oldest)
    entry = dict(id=vm_id, name=points[-1]["vm"]["name"], kept=steps["keep"], removed=steps["remove"],
                 consolidated=steps["consolidate"], checkpoints_removed=cps)
    if note:
        entry["note"] = note
    name = entry["name"]
    module.diff["before"][name] = [pt["id"] for pt in points]
    module.diff["after"][name] = [k["id"] for k in steps["keep"]]
    if steps["remove"] or steps["consolidate"] or cps:
        changed = True
        if not module.check_mode:
            apply(module, repo, vms_service, vm_id, steps, cps)
    return entry, changed


def apply(module, repo, vms_service, vm_id, steps, cps):
    """Merges (each checked against its recorded sha256 first), then removals newest first, then checkpoints."""
    for step in steps["consolidate"]:
        retention.check_chain(repo, vm_id, repo.read_manifest(vm_id, step["id"]))
    module.check_gate()                     # protection: recorded, never refused for a spent budget
    for step in steps["consolidate"]:
        retention.consolidate(repo, vm_id, step)
    for gone in reversed(steps["remove"]):
        repo.remove_point(vm_id, gone["id"])
    vm_service = vms_service.vm_service(vm_id)
    for cid in cps:
        remove_checkpoint(module, vm_service, cid)


if __name__ == "__main__":
    main()
