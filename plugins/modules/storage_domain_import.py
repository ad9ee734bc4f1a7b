#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: storage_domain_import
short_description: Import a replicated data storage domain into an Engine, or hand it back - for disaster recovery
version_added: 0.1.0
description:
  - Brings a data storage domain that already holds a domain (a replica of another site's domain, or a domain
    detached from another Engine) into this Engine's data center, keeping its id, its name, its disks and its
    OVF store; its VMs and templates can then be registered with M(sre.ovirt.vm_register).
  - A file domain (V(nfs), V(posixfs), V(glusterfs)) is imported by adding a domain on its O(address) and O(path) -
    the Engine finds the domain already there and imports it. A block domain (V(iscsi), V(fcp)) is imported by
    its O(id) from the LUNs the host sees (log the host in to the iSCSI targets first).
  - The domain is then attached to O(data_center), which activates it and reads its OVF store.
  - The other states hand a domain back, as a planned failover or failback does on the site that gives it up.
    O(state=maintenance) and O(state=detached) ask the Engine to write the domain's OVF store first, so the VM
    configurations the other site registers are current. O(state=absent) removes the domain from this Engine
    without formatting it (its data stays on the storage); with O(destroy=true) the Engine forgets a domain whose
    storage is gone, without touching the storage.
  - Exact and idempotent - the import and the attach are each sent once even when an answer is lost (the client
    looks for the domain before sending again); a second run with nothing to do sends no POST, PUT or DELETE.
  - Mutating; for the SLO gate its class is C(change) unless O(slo_policy.change_class) says otherwise (the
    C(sre.ovirt.dr) role sets C(remediation) for failover and failback).
author:
  - SRE oVirt team (@sre-ovirt)
extends_documentation_fragment:
  - sre.ovirt.engine
  - sre.ovirt.wait
  - sre.ovirt.slo_policy
  - sre.ovirt.attributes
options:
  name:
    description: The storage domain's name (the name the domain carries in its metadata, the same on both sites).
    type: str
    required: true
  data_center:
    description: The data center of this Engine the domain is attached to (or detached from).
    type: str
    required: true
  type:
    description: The storage type.
    type: str
    choices: [nfs, posixfs, glusterfs, iscsi, fcp]
    default: nfs
  address:
    description: The file server of a file domain (required for V(nfs) and V(glusterfs) when the domain must be
      imported).
    type: str
  path:
    description: The export path of a file domain (required for file types when the domain must be imported).
    type: str
  id:
    description: The id of a block domain (required for V(iscsi) and V(fcp) when the domain must be imported).
      For a file domain, when given, the domain found must have this id.
    type: str
  host:
    description: The host that imports (or removes) the domain. Default, an up host of O(data_center).
    type: str
  state:
    description:
      - V(present) - imported, attached to O(data_center) and active.
      - V(maintenance) - imported and attached, but deactivated (the OVF store is written first).
      - V(detached) - deactivated (the OVF store written first) and detached from O(data_center); nothing to do
        when this Engine does not know the domain.
      - V(absent) - removed from this Engine (deactivated and detached first), never formatted.
    type: str
    choices: [present, maintenance, detached, absent]
    default: present
  destroy:
    description: With O(state=absent), drop the domain from the Engine's database without deactivating it or
      touching its storage - for a domain whose storage is gone (the lost site after a failover).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Reports the steps that would be taken (O(ignore:steps)); sends no change and does not wait.
  diff_mode:
    support: full
    details: The domain's status and data center before and after.
notes:
  - The Engine refuses to import a domain that is attached to a data center of its own, or the hosted-engine
    storage domain; replicated domains must not be attached on the secondary site while the primary uses them.
seealso:
  - module: sre.ovirt.vm_register
  - module: sre.ovirt.dr_plan
"""

EXAMPLES = r"""
- name: Import the replica of dr-data on the secondary site
  sre.ovirt.storage_domain_import:
    name: dr-data
    data_center: dc-west
    type: nfs
    address: nas-west.example.com
    path: /exports/dr-data
  register: imported

- name: Import a replicated iSCSI domain by id (the host is logged in to its targets)
  sre.ovirt.storage_domain_import:
    name: dr-block
    data_center: dc-west
    type: iscsi
    id: 5a7c2f3e-0d1b-4c59-9a7e-1f2d3c4b5a69
    host: west-host01

- name: Planned failover - hand the domain over (OVF store written, deactivated, detached)
  sre.ovirt.storage_domain_import:
    name: dr-data
    data_center: dc-east
    state: detached

- name: After failover, forget the lost site's domain on the old primary (its storage is gone)
  sre.ovirt.storage_domain_import:
    name: dr-data
    data_center: dc-east
    state: absent
    destroy: true
"""

RETURN = r"""
storage_domain:
  description: The domain at the end (empty when it is not on this Engine).
  returned: always
  type: dict
  contains:
    id:
      description: Its id (the same on both sites).
      type: str
    name:
      description: Its name.
      type: str
    status:
      description: Its status in O(data_center) (C(active), C(maintenance)...), C(unattached) when it is in no
        data center.
      type: str
    data_center:
      description: The data center it is attached to, or null.
      type: str
    type:
      description: The storage type.
      type: str
    path:
      description: Its path (file domains).
      type: str
  sample: {id: 7f0c1a52-3b1e-5d0e-9c8a-2b1e0c9f4d11, name: dr-data, status: active, data_center: dc-west,
           type: nfs, path: /exports/dr-data}
steps:
  description: What was done (or would be, in check mode), in order - C(import), C(attach), C(activate),
    C(update_ovf_store), C(deactivate), C(detach), C(remove), C(destroy).
  returned: always
  type: list
  elements: str
  sample: [import, attach]
"""

try:
    from ovirtsdk4 import types as otypes
except ImportError:  # pragma: no cover - reported by EngineModule
    otypes = None

try:
    from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule, TaskFailed
    from ansible_collections.sre.ovirt.plugins.module_utils.client.wait import wait_for
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import (
        EngineError, EngineNotFound, all_of, get_by_name, where)
    from ansible_collections.sre.ovirt.plugins.module_utils.model import dr as facts
except ImportError:  # pragma: no cover
    pass

STEPS = {
    "present": ("import", "attach", "activate"),
    "maintenance": ("import", "attach", "update_ovf_store", "deactivate"),
}


def main():
    module = EngineModule(argument_spec=dict(
        name=dict(type="str", required=True),
        data_center=dict(type="str", required=True),
        type=dict(type="str", choices=list(facts.IMPORT_TYPES), default="nfs"),
        address=dict(type="str"), path=dict(type="str"), id=dict(type="str"), host=dict(type="str"),
        state=dict(type="str", choices=["present", "maintenance", "detached", "absent"], default="present"),
        destroy=dict(type="bool", default=False)),
        supports_check_mode=True)
    try:
        result = run(module, module.params)
    except EngineError as exc:
        module.fail_from(exc)
    module.exit_json(**result)


def check_params(p):
    if p["destroy"] and p["state"] != "absent":
        raise TaskFailed("destroy: only with state=absent (state is %s)" % p["state"], field="destroy")


def check_import_params(p):
    """What an import needs, checked before anything is sent."""
    if p["type"] in facts.BLOCK_TYPES:
        if not p["id"]:
            raise TaskFailed("id: required to import a %s domain (block domains are imported by id)" % p["type"],
                             field="id")
        return
    if not p["path"]:
        raise TaskFailed("path: required to import a %s domain" % p["type"], field="path")
    if p["type"] in ("nfs", "glusterfs") and not p["address"]:
        raise TaskFailed("address: required to import a %s domain" % p["type"], field="address")


def value(enum):
    return getattr(enum, "value", enum)


def find_domain(sds, p):
    """The domain on this Engine: by name, else by id, else (file domains) by its storage path."""
    sd = get_by_name(sds, p["name"], "storage domain")
    if sd is None and p["id"]:
        try:
            sd = sds.storage_domain_service(p["id"]).get()
        except EngineNotFound:
            sd = None
    if sd is None and p["path"] and p["type"] in facts.FILE_TYPES:
        for other in sds.list():
            st = other.storage
            if st is not None and st.path == p["path"] and (st.address or None) == (p["address"] or None):
                return other
    if sd is not None and p["id"] and sd.id != p["id"]:
        raise TaskFailed("id: storage domain %s on this Engine has id %s, not %s" % (sd.name, sd.id, p["id"]),
                         field="id")
    return sd


def attached_view(dc_sds, sd_id):
    """The domain as its data center sees it (with its status), or None when it is not attached there."""
    try:
        return dc_sds.storage_domain_service(sd_id).get()
    except EngineNotFound:
        return None


def other_data_center(system, sd, dc):
    for ref in sd.data_centers or []:
        if ref.id != dc.id:
            try:
                return system.data_centers_service().data_center_service(ref.id).get().name
            except EngineNotFound:
                return ref.id
    return None


def describe(sd, attached, dc):
    if sd is None:
        return {}
    st = sd.storage
    return {"id": sd.id, "name": sd.name, "status": value(attached.status) if attached is not None else "unattached",
            "data_center": dc.name if attached is not None else None,
            "type": value(st.type) if st is not None else None, "path": st.path if st is not None else None}


def plan(p, sd, attached):
    """The steps from the domain's state to the wanted one."""
    state = p["state"]
    status = value(attached.status) if attached is not None else None
    if state in ("present", "maintenance"):
        steps = []
        if sd is None:
            steps.append("import")
        if attached is None:
            steps.append("attach")
            status = facts.SD_ACTIVE         # attaching activates
        if state == "present" and status in facts.SD_DETACHABLE:
            steps.append("activate")
        if state == "maintenance" and status == facts.SD_ACTIVE:
            steps += ["update_ovf_store", "deactivate"]
        return steps
    if sd is None:
        return []
    if state == "absent" and p["destroy"]:
        return ["destroy"]
    steps = []
    if attached is not None:
        if status == facts.SD_ACTIVE:
            steps += ["update_ovf_store", "deactivate"]
        steps.append("detach")
    if state == "absent":
        steps.append("remove")
    return steps


def pick_host(system, p, dc):
    hosts = system.hosts_service()
    if p["host"]:
        host = get_by_name(hosts, p["host"], "host")
        if host is None:
            raise TaskFailed("host: no host named %s" % p["host"], field="host")
        return host.name
    up = hosts.list(search=all_of(where("datacenter", dc.name), where("status", "up")))
    if not up:
        raise TaskFailed("host: no up host in data center %s to import or remove the domain with; name one" %
                         dc.name, field="host")
    return sorted(h.name for h in up)[0]


def run(module, p):
    check_params(p)
    system = module.client.system_service()
    dc = module.require(system.data_centers_service(), p["data_center"], "data center", "data_center")
    dc_sds = system.data_centers_service().data_center_service(dc.id).storage_domains_service()
    sds = system.storage_domains_service()
    sd = find_domain(sds, p)
    attached = attached_view(dc_sds, sd.id) if sd is not None else None
    before = describe(sd, attached, dc)
    if sd is None and p["state"] in ("present", "maintenance"):
        check_import_params(p)
        if p["name"] in facts.NOT_IMPORTABLE_NAMES:
            raise TaskFailed("name: %s is the hosted-engine storage domain; it cannot be imported" % p["name"],
                             field="name")
    if sd is not None and attached is None and p["state"] in ("present", "maintenance"):
        elsewhere = other_data_center(system, sd, dc)
        if elsewhere:
            raise TaskFailed("name: storage domain %s is attached to data center %s on this Engine, not %s; "
                             "detach it there first" % (sd.name, elsewhere, dc.name), field="name",
                             storage_domain=before, steps=[])
    steps = plan(p, sd, attached)
    host = pick_host(system, p, dc) if ("import" in steps or "remove" in steps) else None
    status_after = {"present": facts.SD_ACTIVE, "maintenance": facts.SD_MAINTENANCE}.get(p["state"], "unattached")
    after = {} if p["state"] == "absent" else dict(
        before or {"name": p["name"], "id": p["id"], "type": p["type"], "path": p["path"]},
        status=status_after if (before or p["state"] in STEPS) else None,
        data_center=dc.name if p["state"] in STEPS else None)
    if p["state"] == "detached" and not before:
        after = {}
    module.diff = {"before": before, "after": after}
    result = {"changed": bool(steps), "steps": steps, "storage_domain": before}
    if not steps:
        # Not a change, but a domain still on its way (locked after an attach) is waited for.
        if attached is not None and value(attached.status) in facts.SD_TRANSITIONAL and p["wait"] \
                and not module.check_mode:
            attached = wait_status(module, p, dc_sds, sd, (status_after,))
            result["storage_domain"] = describe(sd, attached, dc)
        return result
    if module.check_mode:
        return dict(result, storage_domain=after)
    result["storage_domain"] = execute(module, p, system, dc, dc_sds, sds, sd, steps, host)
    return result


def wait_status(module, p, dc_sds, sd, wanted):
    svc = dc_sds.storage_domain_service(sd.id)
    return wait_for(svc.get, done=lambda s: value(s.status) in wanted,
                    failed=lambda s: value(s.status) in facts.SD_FAILED and facts.SD_INACTIVE not in wanted,
                    timeout=p["timeout"], interval=p["poll_interval"], immediate=False,
                    what="storage domain %s to be %s" % (sd.name, "/".join(wanted)),
                    describe=lambda s: "storage domain %s is %s" % (sd.name, value(s.status)))


def execute(module, p, system, dc, dc_sds, sds, sd, steps, host):
    client = module.client
    for step in steps:
        if step == "import":
            sd = import_domain(module, p, sds, host)
        elif step == "attach":
            client.create(lambda: dc_sds.add(otypes.StorageDomain(id=sd.id)), lambda: attached_view(dc_sds, sd.id),
                          "storage domain %s attached to %s" % (sd.name, dc.name))
            if p["wait"] or "deactivate" in steps:
                wait_status(module, p, dc_sds, sd, (facts.SD_ACTIVE,))
        elif step == "activate":
            dc_sds.storage_domain_service(sd.id).activate()
            if p["wait"]:
                wait_status(module, p, dc_sds, sd, (facts.SD_ACTIVE,))
        elif step == "update_ovf_store":
            sds.storage_domain_service(sd.id).update_ovf_store()
        elif step == "deactivate":
            dc_sds.storage_domain_service(sd.id).deactivate()
            if p["wait"] or "detach" in steps:
                wait_status(module, p, dc_sds, sd, facts.SD_DETACHABLE)
        elif step == "detach":
            dc_sds.storage_domain_service(sd.id).remove()
            if p["wait"] or "remove" in steps:
                wait_for(lambda: attached_view(dc_sds, sd.id), done=lambda s: s is None, gone_ok=True,
                         timeout=p["timeout"], interval=p["poll_interval"], immediate=False,
                         what="storage domain %s to be detached from %s" % (sd.name, dc.name),
                         describe=lambda s: "storage domain %s is %s" % (sd.name, value(s.status)))
        elif step in ("remove", "destroy"):
            svc = sds.storage_domain_service(sd.id)
            if step == "destroy":
                svc.remove(destroy=True)
            else:
                svc.remove(host=host, format=False)
            if p["wait"]:
                wait_for(lambda: gone_or(svc), done=lambda s: s is None, gone_ok=True, timeout=p["timeout"],
                         interval=p["poll_interval"], immediate=False,
                         what="storage domain %s to be removed" % sd.name,
                         describe=lambda s: "storage domain %s is still there" % sd.name)
            return {}
    return describe(sds.storage_domain_service(sd.id).get(), attached_view(dc_sds, sd.id), dc)


def gone_or(svc):
    try:
        return svc.get()
    except EngineNotFound:
        return None


def import_domain(module, p, sds, host):
    if p["type"] in facts.BLOCK_TYPES:
        entity = otypes.StorageDomain(id=p["id"], name=p["name"], type=otypes.StorageDomainType.DATA, import_=True,
                                      host=otypes.Host(name=host),
                                      storage=otypes.HostStorage(type=otypes.StorageType(p["type"])))
    else:
        entity = otypes.StorageDomain(name=p["name"], type=otypes.StorageDomainType.DATA, host=otypes.Host(name=host),
                                      storage=otypes.HostStorage(type=otypes.StorageType(p["type"]),
                                                                 address=p["address"], path=p["path"]))
    sd = module.client.create(lambda: sds.add(entity), lambda: find_domain(sds, p),
                              "storage domain %s" % p["name"])
    if p["id"] and sd.id != p["id"]:
        raise TaskFailed("id: the domain imported from %s has id %s, not %s" % (
            p["path"] or p["type"], sd.id, p["id"]), field="id")
    if sd.name != p["name"]:
        module.warn("the imported domain is named %s on its storage, not %s" % (sd.name, p["name"]))
    return sd


if __name__ == "__main__":
    main()
