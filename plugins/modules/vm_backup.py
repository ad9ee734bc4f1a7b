#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vm_backup
short_description: Back up a VM into a backup repository - full or incremental, with the Engine's backup API
version_added: 0.1.0
description:
  - Takes one restore point of a VM into a backup repository (a directory; layout in docs/backup.md) with the
    Engine's incremental backup API (changed-block tracking, no snapshot on the VM's disks) and ovirt-imageio.
    The disks of the VM are downloaded in parallel; an incremental is stored as a qcow2 overlay on the previous
    point, so a restore reads the chain.
  - A disk without C(backup=incremental) is backed up in full through a temporary snapshot (created, downloaded,
    removed), so every VM can be protected.
  - Whatever happens - a failed download, a dropped connection, the task interrupted - every image transfer is
    ended, the backup finalized and the temporary snapshot removed before the task returns; a point is visible
    in the repository only once all its files are written and their checksums recorded.
  - The manifest keeps the VM's configuration (its OVF and a summary of disks and NICs), so M(sre.ovirt.vm_restore)
    can recreate the VM.
  - For the SLO gate a backup is C(protection) - never blocked by a spent error budget; the gate log records it.
    The backup's seconds, bytes and success are recorded as SLIs.
  - Needs C(qemu-img) and C(qemu-nbd) where the module runs (the repository's machine) and the C(ovirt-imageio)
    Python package.
author:
  - SRE oVirt team (@sre-ovirt)
extends_documentation_fragment:
  - sre.ovirt.engine
  - sre.ovirt.wait
  - sre.ovirt.slo_policy
  - sre.ovirt.attributes
options:
  name:
    description: The VM to back up.
    type: str
    required: true
  repository:
    description: The backup repository, a directory. Created (empty directory or missing) on first use.
    type: path
    required: true
  mode:
    description:
      - C(auto) takes an incremental when the repository's newest point of this VM has a checkpoint the Engine
        still has, a full otherwise; the result's O(ignore:reason) says why.
      - C(incremental) fails instead of falling back to a full.
    type: str
    choices: [auto, full, incremental]
    default: auto
  parallel_disks:
    description: How many disks are downloaded at the same time.
    type: int
    default: 4
  inactivity_timeout:
    description: Seconds an image transfer may stay idle before the Engine cancels it.
    type: int
    default: 120
  max_parallel:
    description:
      - At most this many C(vm_backup) runs work on this repository at the same time (the others wait for a
        slot); C(0) - no limit. The vm_backup role launches every VM at once and sets this, so a slow VM never
        holds up the others. Independently of it, one VM is only ever backed up by one run at a time.
    type: int
    default: 0
attributes:
  check_mode:
    support: full
    details: Reports whether a full or an incremental would be taken, and why; sends nothing, writes nothing.
  diff_mode:
    support: none
notes:
  - O(timeout) bounds each wait (the backup becoming ready, each transfer, the finalization), not the download.
seealso:
  - module: sre.ovirt.vm_restore
  - module: sre.ovirt.backup_info
"""

EXAMPLES = r"""
- name: Nightly backup, incremental when possible
  sre.ovirt.vm_backup:
    name: web1
    repository: /srv/backups/ovirt
  register: backup

- name: A full backup every Sunday
  sre.ovirt.vm_backup:
    name: web1
    repository: /srv/backups/ovirt
    mode: full
"""

RETURN = r"""
point:
  description: The restore point's id (sorts by time).
  returned: success
  type: str
  sample: 20261127T020012Z-1a2b3c4d
type:
  description: C(full) or C(incremental).
  returned: always
  type: str
reason:
  description: Why this type was taken (for O(mode=auto)).
  returned: always
  type: str
  sample: checkpoint 8d2f... of point 20261126T020011Z-77aa01cd is no longer on the Engine
parent:
  description: The point an incremental builds on.
  returned: always
  type: str
checkpoint_id:
  description: The Engine checkpoint this point ends at (the next incremental starts from it).
  returned: success
  type: str
bytes:
  description: Bytes written into the repository for this point (the files' allocated data).
  returned: success
  type: int
seconds:
  description: Duration of the backup, from the Engine's backup start to the published point.
  returned: success
  type: float
mib_per_second:
  description: C(bytes) over C(seconds), in MiB/s.
  returned: success
  type: float
previous_age_seconds:
  description: Age of the previous point of this VM when this one was taken.
  returned: always
  type: float
disks:
  description: Per disk - alias, backup mode, method (incremental backup API or temporary snapshot), file, bytes.
  returned: success
  type: list
  elements: dict
cleanup:
  description: On failure, what was ended (transfers, backup, snapshot) and what remains (C(left)).
  returned: failure
  type: dict
"""

import os
import signal
import time

try:
    from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule, TaskFailed
    from ansible_collections.sre.ovirt.plugins.module_utils.backup import images
    from ansible_collections.sre.ovirt.plugins.module_utils.backup.repository import (
        Repository, RepositoryError, new_point_id, utc_text)
    from ansible_collections.sre.ovirt.plugins.module_utils.backup.session import (
        BackupFailed, BackupSession, checkpoint_state, image_disks)
    from ansible_collections.sre.ovirt.plugins.module_utils.backup.vm_config import vm_configuration
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import EngineError
    from ansible_collections.sre.ovirt.plugins.module_utils.model import backup as facts
    from ansible_collections.sre.ovirt.plugins.module_utils.model.events import epoch
except ImportError:  # pragma: no cover
    pass


class Interrupted(BaseException):
    """SIGTERM (Ansible's timeout, AWX cancelling the job): unwind through the clean-up."""


def _on_sigterm(_signum, _frame):
    raise Interrupted("interrupted by SIGTERM")


def main():
    module = EngineModule(argument_spec=dict(
        name=dict(type="str", required=True),
        repository=dict(type="path", required=True),
        mode=dict(type="str", choices=["auto", "full", "incremental"], default="auto"),
        parallel_disks=dict(type="int", default=4),
        inactivity_timeout=dict(type="int", default=120), max_parallel=dict(type="int", default=0)),
        supports_check_mode=True, change_class="protection")
    if module.params["max_parallel"] < 0:
        module.fail_json(msg="max_parallel: must be 0 (no limit) or more, got %d" % module.params["max_parallel"],
                         field="max_parallel")
    if module.params["parallel_disks"] < 1:
        module.fail_json(msg="parallel_disks: must be 1 or more, got %d" % module.params["parallel_disks"],
                         field="parallel_disks")
    if not images.HAS_IMAGEIO:
        module.fail_json(msg="the ovirt-imageio Python package is required (pip install ovirt-imageio)")
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        result = run(module, module.params)
    except RepositoryError as exc:
        module.record("backup_success", 0.0, subject=module.params["name"])
        module.fail_json(msg=str(exc), field=exc.field, changed=False)
    except BackupFailed as exc:
        module.record("backup_success", 0.0, subject=module.params["name"])
        module.fail_json(msg="backup of VM %s failed: %s" % (module.params["name"], exc), cleanup=exc.cleanup,
                         changed=True)
    except EngineError as exc:
        module.fail_from(exc)
    module.exit_json(**result)


def plan(repo, vms_service, vm, disks, mode):
    """(type, reason, previous point) for this run, decided from the repository and the Engine's checkpoints."""
    inc = [d for _a, d in disks if d.backup is not None and d.backup.value == facts.DISK_INCREMENTAL]
    previous = repo.newest_good(vm.id) if os.path.isdir(repo.path) else None
    if mode == "full":
        return "full", "mode is full", None
    if not inc:
        why = "no disk of VM %s has incremental backup enabled (all go through a temporary snapshot)" % vm.name
    elif previous is None:
        why = "no earlier point of VM %s in the repository" % vm.name
    elif not previous.get("checkpoint_id"):
        why = "the newest point %s has no checkpoint" % previous["id"]
    else:
        state = checkpoint_state(vms_service, vm.id, previous["checkpoint_id"])
        if state is None:
            why = "checkpoint %s of point %s is no longer on the Engine" % (previous["checkpoint_id"], previous["id"])
        elif state not in facts.CHECKPOINT_USABLE:
            why = "checkpoint %s of point %s is %s on the Engine" % (previous["checkpoint_id"], previous["id"], state)
        else:
            return "incremental", "checkpoint %s of point %s is on the Engine" % (
                previous["checkpoint_id"], previous["id"]), previous
    if mode == "incremental":
        raise TaskFailed("mode: an incremental backup is not possible: %s" % why, field="mode", type="incremental",
                         reason=why)
    return "full", why, None


def run(module, p):
    repo = Repository(p["repository"])
    system = module.client.system_service()
    vms_service = system.vms_service()
    vm = module.require(vms_service, p["name"], "VM", "name")
    disks = image_disks(vms_service, vm.id)
    if not disks:
        raise TaskFailed("name: VM %s has no image disk to back up" % vm.name, field="name")
    if os.path.isdir(repo.path) or not module.check_mode:
        repo.open(create=not module.check_mode)
    if module.check_mode:
        return take(module, p, repo, system, vms_service, vm, disks)
    with repo.slot(p["max_parallel"]):
        with repo.vm_lock(vm.id):
            return take(module, p, repo, system, vms_service, vm, disks)


def take(module, p, repo, system, vms_service, vm, disks):
    """Decide, back up, publish; the caller holds the repository slot and the VM's lock."""
    kind, reason, previous = plan(repo, vms_service, vm, disks, p["mode"])
    # Points are stamped with the Engine's clock (its API root's time), the clock its checkpoints and events use.
    api = system.get()
    skew = (epoch(api.time) - time.time()) if api.time is not None else 0.0
    last = repo.newest_good(vm.id) if os.path.isdir(repo.path) else None
    prev_age = round(time.time() + skew - last["finished_epoch"], 1) if last else None
    result = dict(changed=True, type=kind, reason=reason, parent=previous["id"] if previous else None,
                  previous_age_seconds=prev_age)
    need = sum(d.actual_size or 0 for _a, d in disks) if kind == "full" else 0
    if module.check_mode:
        if os.path.isdir(repo.path):
            repo.check_writable(need)
        result["disks"] = [dict(alias=d.alias, disk_id=d.id, backup=d.backup.value if d.backup else "none")
                           for _a, d in disks]
        return result
    repo.check_writable(need)
    started = time.time() + skew
    point_id = new_point_id(started)
    partial = repo.begin(vm.id, point_id)
    backing = {}
    if previous:
        for rec in previous["disks"]:
            backing[rec["disk_id"]] = "../%s/%s" % (previous["id"], rec["file"])
    try:
        session = BackupSession(module.client, vm, module.client.settings, timeout=p["timeout"],
                                interval=min(p["poll_interval"], 1.0), max_workers=p["parallel_disks"],
                                inactivity_timeout=p["inactivity_timeout"])
        records, checkpoint = session.run(disks, partial, backing, previous["checkpoint_id"] if previous else None,
                                          point_id)
        total = 0
        for rec in records:
            path = os.path.join(partial, rec["file"])
            st = os.stat(path)
            rec["bytes"] = st.st_blocks * 512
            rec["file_size"] = st.st_size
            rec["file_sha256"] = images.file_sha256(path)
            total += rec["bytes"]
        if any(r["backup_mode"] == "incremental" for r in records):
            kind = "incremental"
        elif kind == "incremental":
            kind, reason = "full", "the Engine backed up every disk in full"
        finished = time.time() + skew
        manifest = dict(
            format=1, id=point_id, vm=dict(id=vm.id, name=vm.name), type=kind, reason=reason,
            parent=previous["id"] if kind == "incremental" else None, checkpoint_id=checkpoint,
            from_checkpoint_id=previous["checkpoint_id"] if kind == "incremental" else None,
            backup_id=session.backup_id, started_at=utc_text(started), started_epoch=started,
            finished_at=utc_text(finished), finished_epoch=finished, bytes=total, disks=records,
            engine_version=api.product_info.version.full_version if api.product_info else None, status="good",
            verified_at=None,
            configuration=vm_configuration(vms_service, vm.id))
        repo.publish(vm.id, point_id, partial, manifest)
    except BaseException:
        repo.discard(partial)
        raise
    seconds = round(time.time() + skew - started, 3)
    module.record("backup_seconds", seconds, subject=vm.name, source_id=point_id)
    module.record("backup_bytes", float(total), subject=vm.name, source_id=point_id)
    module.record("backup_success", 1.0, subject=vm.name, source_id=point_id)
    result.update(point=point_id, type=kind, reason=reason, parent=manifest["parent"], checkpoint_id=checkpoint,
                  bytes=total, seconds=seconds, mib_per_second=round(total / 2.0**20 / max(seconds, 1e-3), 1),
                  disks=[dict((k, r.get(k)) for k in ("alias", "disk_id", "backup_mode", "method", "file", "bytes"))
                         for r in records])
    return result


if __name__ == "__main__":
    main()
