#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vm_restore
short_description: Restore a VM from a backup repository - as a new VM or in place - and prove the bytes
version_added: 0.1.0
description:
  - Restores a restore point taken by M(sre.ovirt.vm_backup) (C(latest), a point id, or the newest point at or
    before a time). Each disk's qcow2 chain is uploaded through ovirt-imageio into a new disk, which is then read
    back and hashed as guest-visible data and compared with the point (O(verify)), before anything of an existing
    VM is touched.
  - As a new VM (O(name) not in use) the VM is recreated from the point's OVF when the original VM is gone (same
    id, NICs and MACs); when the original still exists, a copy is created from the saved configuration (new ids,
    new MACs, NICs on the same vNIC profiles).
  - In place (O(name) is the backed-up VM itself) the VM is stopped, its disks are replaced by the verified
    restored disks (the old disks are removed) and its identity and settings stay.
  - The repository files are checked against their recorded sha256 first; a damaged point fails before any
    change.
  - For the SLO gate a restore in place is a C(remediation), a restore as a new VM a C(change).
  - Always reports C(changed=true) when it restores; it is an action, not a state.
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
    description: The name of the backed-up VM.
    type: str
    required: true
  point:
    description: C(latest), a point id (see M(sre.ovirt.backup_info)), or an ISO 8601 time (the newest point
      finished at or before it).
    type: str
    default: latest
  name:
    description: The VM to create, or - when it is the backed-up VM - to restore in place. Defaults to O(vm).
    type: str
  cluster:
    description: Cluster of a new VM. Defaults to the backed-up VM's cluster.
    type: str
  storage_domain:
    description: Storage domain of the restored disks. Defaults to the domain each disk was backed up from.
    type: str
  state:
    description: The restored VM's state at the end.
    type: str
    choices: [stopped, running]
    default: stopped
  verify:
    description: Check the repository files' sha256 and read every restored disk back to compare its content
      with the point.
    type: bool
    default: true
  parallel_disks:
    description: How many disks are uploaded (and read back) at the same time.
    type: int
    default: 4
  vnic_profile:
    description: Put every NIC of a new VM on this vNIC profile (an isolated network for restore drills) instead
      of the profiles it had.
    type: str
  nics_linked:
    description: Whether the NICs of a new VM are linked. C(false) keeps a restored copy off every network.
    type: bool
    default: true
  record_verification:
    description:
      - Record the outcome in the point's manifest - C(verified_at) when every disk read back equal to the
        point (and, with O(state=running), the VM booted), C(status=bad) with the reason when a file is damaged
        or a disk differs; a bad point is never restored or built on again. What C(playbooks/backup_verify.yml)
        uses.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Reports the point, the chain and what would be created or replaced; sends no POST, PUT or DELETE.
  diff_mode:
    support: full
seealso:
  - module: sre.ovirt.vm_backup
  - module: sre.ovirt.backup_info
"""

EXAMPLES = r"""
- name: Restore yesterday's state of web1 as a new VM
  sre.ovirt.vm_restore:
    repository: /srv/backups/ovirt
    vm: web1
    point: "2026-11-26T23:59:00Z"
    name: web1-restored
    state: running

- name: Roll web1 back in place to its newest point
  sre.ovirt.vm_restore:
    repository: /srv/backups/ovirt
    vm: web1
"""

RETURN = r"""
point:
  description: The restored point's id.
  returned: always
  type: str
chain:
  description: The points read, full first.
  returned: always
  type: list
  elements: str
how:
  description: C(in_place), C(recreated) (from the OVF, the original's identity) or C(copy).
  returned: always
  type: str
vm_id:
  description: The restored VM's id.
  returned: success
  type: str
disks:
  description: Per disk - alias, new disk id, the point's guest sha256 and the restored disk's (when verified).
  returned: success
  type: list
  elements: dict
verified_at:
  description: With O(record_verification), when the point was proven (UTC).
  returned: when record_verification is true and the restore succeeded
  type: str
left:
  description: On failure, what the restore created that could not be removed.
  returned: failure
  type: list
  elements: str
"""

import time

try:
    from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule, TaskFailed
    from ansible_collections.sre.ovirt.plugins.module_utils.backup import images
    from ansible_collections.sre.ovirt.plugins.module_utils.backup.repository import Repository, RepositoryError
    from ansible_collections.sre.ovirt.plugins.module_utils.backup.restore import (
        DiskRestore, RestoreFailed, chain_top)
    from ansible_collections.sre.ovirt.plugins.module_utils.backup.vm_config import vm_from_ovf, vm_from_summary
    from ansible_collections.sre.ovirt.plugins.module_utils.client.wait import wait_for
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import EngineError, EngineNotFound, where
    from ansible_collections.sre.ovirt.plugins.module_utils.model.events import epoch
    from ovirtsdk4 import types
except ImportError:  # pragma: no cover
    pass


def _in_place(params):
    return params.get("name") in (None, params.get("vm"))


def main():
    module = EngineModule(argument_spec=dict(
        repository=dict(type="path", required=True), vm=dict(type="str", required=True),
        point=dict(type="str", default="latest"), name=dict(type="str"), cluster=dict(type="str"),
        storage_domain=dict(type="str"), state=dict(type="str", choices=["stopped", "running"], default="stopped"),
        verify=dict(type="bool", default=True), parallel_disks=dict(type="int", default=4),
        vnic_profile=dict(type="str"), nics_linked=dict(type="bool", default=True),
        record_verification=dict(type="bool", default=False)),
        supports_check_mode=True,
        change_class=lambda p: "remediation" if _in_place(p) else "change")
    if not images.HAS_IMAGEIO:
        module.fail_json(msg="the ovirt-imageio Python package is required (pip install ovirt-imageio)")
    try:
        result = run(module, module.params)
    except RepositoryError as exc:
        module.fail_json(msg=str(exc), field=exc.field, changed=False)
    except RestoreFailed as exc:
        module.fail_json(msg="restore of VM %s failed: %s" % (module.params["vm"], exc), left=exc.left,
                         changed=True)
    except EngineError as exc:
        module.fail_from(exc)
    module.exit_json(**result)


def _get(service):
    try:
        return service.get()
    except EngineNotFound:
        return None


class DamagedPoint(RepositoryError):
    def __init__(self, point_id, message):
        super(DamagedPoint, self).__init__(message)
        self.point_id = point_id


def check_files(repo, vm_id, chain, names):
    """Every file the restore reads matches the sha256 its manifest recorded."""
    for point in chain:
        for rec in point["disks"]:
            if rec["file"] not in names or not rec.get("file_sha256"):
                continue
            path = chain_top(point, rec)
            try:
                actual = images.file_sha256(path)
            except (IOError, OSError) as exc:
                raise DamagedPoint(point["id"], "repository: %s of point %s cannot be read: %s" % (
                    chain_top(point, rec), point["id"], exc))
            if actual != rec["file_sha256"]:
                raise DamagedPoint(point["id"], "repository: %s of point %s is damaged (sha256 %s, recorded %s)" % (
                    chain_top(point, rec), point["id"], actual, rec["file_sha256"]))


def run(module, p):
    repo = Repository(p["repository"]).open()
    vm_id = repo.find_vm(p["vm"])
    if vm_id is None:
        raise RepositoryError("vm: no VM named %s in %s; VMs: %s" % (
            p["vm"], repo.path, ", ".join(sorted(set(pt["vm"]["name"] for v in repo.vm_ids()
                                                     for pt in repo.points(v)[-1:]))) or "none"), field="vm")
    point = repo.select(vm_id, p["point"])
    chain = repo.chain(vm_id, point)
    name = p["name"] or p["vm"]
    system = module.client.system_service()
    vms = system.vms_service()
    target = vms.list(search=where("name", name))
    target = target[0] if target else None
    original = _get(vms.vm_service(vm_id))
    config = point.get("configuration") or {}
    if target is not None and target.id != vm_id:
        raise TaskFailed("name: a VM named %s already exists and is not the backed-up VM %s (id %s); choose another "
                         "name or remove it" % (name, p["vm"], vm_id), field="name")
    how = "in_place" if target is not None else ("recreated" if original is None and config.get("ovf") else "copy")
    cluster = resolve_cluster(module, system, p, target or original, config)
    sd_ids = resolve_domains(module, system, p, point)
    profile = None
    if p["vnic_profile"]:
        found = [v for v in system.vnic_profiles_service().list() if v.name == p["vnic_profile"]]
        if not found:
            raise TaskFailed("vnic_profile: no vNIC profile named %s" % p["vnic_profile"], field="vnic_profile")
        profile = types.VnicProfile(id=found[0].id)
    result = dict(changed=True, point=point["id"], chain=[c["id"] for c in chain], how=how, vm=p["vm"], name=name)
    module.diff = {"before": {"vm": name, "exists": target is not None,
                              "status": target.status.value if target is not None else None},
                   "after": {"vm": name, "point": point["id"], "how": how,
                             "disks": [r["alias"] for r in point["disks"]], "state": p["state"]}}
    if module.check_mode:
        return result
    if p["verify"]:
        try:
            check_files(repo, vm_id, chain, set(r["file"] for r in point["disks"]))
        except DamagedPoint as exc:
            if p["record_verification"]:
                repo.mark(vm_id, exc.point_id, False, reason=str(exc))
            raise
    started = time.time()
    timeout, interval = p["timeout"], min(p["poll_interval"], 1.0)
    restore = DiskRestore(module.client, module.client.settings, timeout=timeout, interval=interval,
                          workers=p["parallel_disks"])
    jobs = []
    attached = []
    try:
        if how == "in_place" and target.status.value != "down":
            stop(module, vms, target, timeout, interval)
        for rec in point["disks"]:
            top = chain_top(point, rec)
            did = restore.create(rec, top, sd_ids[rec["disk_id"]], keep_id=(how == "recreated"))
            jobs.append(dict(rec=rec, alias=rec["alias"], disk_id=did, top=top))
        restore.upload_all(jobs)
        if p["verify"]:
            restore.verify_all(jobs)
        if how == "in_place":
            vm = target
            replace_disks(vms.vm_service(vm.id), jobs, restore, attached)
        else:
            vm = create_vm(module, vms, config, name, cluster, how, jobs, attached, timeout, interval,
                           nic_profile=profile, linked=p["nics_linked"])
    except BaseException as exc:
        left = restore.remove_created(keep=attached)
        if isinstance(exc, RestoreFailed):
            exc.left = left
            if exc.mismatch and p["record_verification"]:
                repo.mark(vm_id, point["id"], False, reason=str(exc))
            raise
        if isinstance(exc, EngineError):
            raise RestoreFailed(exc.describe() if hasattr(exc, "describe") else str(exc), left)
        raise
    if p["state"] == "running":
        start(vms, vm, timeout, interval)
    if p["record_verification"] and p["verify"]:
        api = system.get()
        how = "restored as VM %s, every disk read back equal to the point%s" % (
            name, ", booted" if p["state"] == "running" else "")
        at = epoch(api.time) if api.time is not None else None
        result["verified_at"] = repo.mark(vm_id, point["id"], True, how=how, at=at)["verified_at"]
    result.update(vm_id=vm.id, seconds=round(time.time() - started, 3), disks=[dict(
        alias=j["alias"], disk_id=j["disk_id"], expected_sha256=j.get("expected_sha256"),
        restored_sha256=j.get("restored_sha256"), verified=j.get("restored_sha256") is not None
        and j.get("restored_sha256") == j.get("expected_sha256")) for j in jobs])
    return result


def resolve_cluster(module, system, p, existing, config):
    clusters = system.clusters_service()
    if p["cluster"]:
        return types.Cluster(id=module.require(clusters, p["cluster"], "cluster", "cluster").id)
    cid = existing.cluster.id if existing is not None else (config.get("vm") or {}).get("cluster")
    if cid and _get(clusters.cluster_service(cid)) is not None:
        return types.Cluster(id=cid)
    raise TaskFailed("cluster: the backed-up VM's cluster is not on this Engine; name a cluster", field="cluster")


def resolve_domains(module, system, p, point):
    sds = system.storage_domains_service()
    if p["storage_domain"]:
        sd = module.require(sds, p["storage_domain"], "storage domain", "storage_domain")
        return dict((r["disk_id"], sd.id) for r in point["disks"])
    out = {}
    for rec in point["disks"]:
        sid = rec.get("storage_domain")
        if not sid or _get(sds.storage_domain_service(sid)) is None:
            raise TaskFailed("storage_domain: disk %s was backed up from a storage domain this Engine does not have; "
                             "name one" % rec["alias"], field="storage_domain")
        out[rec["disk_id"]] = sid
    return out


def stop(module, vms, vm, timeout, interval):
    svc = vms.vm_service(vm.id)
    svc.stop()
    wait_for(svc.get, lambda v: v.status.value == "down", timeout=timeout, interval=interval,
             what="VM %s to stop" % vm.name, describe=lambda v: "status %s" % v.status.value)


def start(vms, vm, timeout, interval):
    svc = vms.vm_service(vm.id)
    svc.start()
    wait_for(svc.get, lambda v: v.status.value == "up", timeout=timeout, interval=interval,
             what="VM %s to come up" % vm.name, describe=lambda v: "status %s" % v.status.value)


def _attachment(job):
    rec = job["rec"]
    return types.DiskAttachment(disk=types.Disk(id=job["disk_id"]), bootable=bool(rec.get("bootable")),
                                interface=types.DiskInterface(rec.get("interface") or "virtio_scsi"), active=True)


def replace_disks(vm_service, jobs, restore, attached):
    """Detach the VM's image disks, attach the restored ones, then remove the old disks."""
    atts = vm_service.disk_attachments_service()
    old = [a for a in atts.list(follow="disk") if a.disk is not None and a.disk.storage_type is not None
           and a.disk.storage_type.value == "image"]
    for a in old:
        atts.attachment_service(a.id).remove(detach_only=True)
    for job in jobs:
        atts.add(_attachment(job))
        attached.append(job["disk_id"])
    for a in old:
        restore.disks.disk_service(a.disk.id).remove()


def create_vm(module, vms, config, name, cluster, how, jobs, attached, timeout, interval, nic_profile=None,
              linked=True):
    spec = vm_from_ovf(config, name, cluster) if how == "recreated" else vm_from_summary(config, name, cluster)

    def find():
        found = vms.list(search=where("name", name))
        return found[0] if found else None
    vm = module.client.create(lambda: vms.add(spec), find, "VM %s" % name)
    svc = vms.vm_service(vm.id)
    wait_for(svc.get, lambda v: v.status.value == "down", timeout=timeout, interval=interval,
             what="VM %s to be created" % name, describe=lambda v: "status %s" % v.status.value)
    atts = svc.disk_attachments_service()
    have = set(a.disk.id for a in atts.list() if a.disk is not None)
    for job in jobs:
        if job["disk_id"] not in have:
            atts.add(_attachment(job))
        attached.append(job["disk_id"])
    if how == "copy":
        nics = svc.nics_service()
        for nic in config.get("nics") or []:
            profile = nic_profile or (types.VnicProfile(id=nic["vnic_profile"]) if nic["vnic_profile"] else None)
            nics.add(types.Nic(name=nic["name"], interface=types.NicInterface(nic["interface"] or "virtio"),
                               vnic_profile=profile, linked=linked))
    return vm


if __name__ == "__main__":
    main()
