#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vm_register
short_description: Register the VMs or templates of an imported storage domain, with a DR mapping
version_added: 0.1.0
description:
  - Registers (imports from the domain's OVF store into this Engine) the unregistered VMs or templates of a data
    storage domain that M(sre.ovirt.storage_domain_import) brought in, as the secondary site of a failover does.
  - Clusters, vNIC profiles, affinity groups, affinity labels, authorization domains and roles are translated with
    the DR mapping - the file M(sre.ovirt.dr_plan) writes (O(mapping_file)) and/or O(mappings) - sent to the
    Engine as its registration configuration. A vNIC profile mapping names the secondary's profile, whose id is
    looked up here - a mapping that names a profile this Engine does not have fails before anything is registered.
  - Each VM's target cluster is checked before it is registered; a VM whose cluster cannot be mapped, whose disks
    are not all on the storage domain (unless O(allow_partial_import)), or whose registration the Engine refuses
    (a vNIC profile it cannot map, a MAC address outside the pool with O(reassign_bad_macs=false)...) is listed in
    RV(failed_vms) with the reason and what is missing. The others are registered, then the task fails when
    RV(failed_vms) is not empty (Ansible's own C(failed) flag is true then; the list is RV(failed_vms)).
  - A registration that leaves something out is a failure too - disks with O(allow_partial_import=true), or what
    the Engine warns it could not map (a vNIC profile without a mapping is left on no network); the VM exists,
    without what RV(failed_vms[].missing) names.
  - With O(name_suffix) (DR drills), each VM is registered as a new copy named NAME + suffix, with new ids
    (C(clone)), leaving the replicated VM unregistered and the production site untouched.
  - Exact and idempotent - a VM registered already (by its id or its target name) is RV(unchanged); a registration
    whose answer is lost is looked for before it is sent again; a second run sends no POST, PUT or DELETE.
author:
  - SRE oVirt team (@sre-ovirt)
extends_documentation_fragment:
  - sre.ovirt.engine
  - sre.ovirt.wait
  - sre.ovirt.slo_policy
  - sre.ovirt.attributes
options:
  storage_domain:
    description: The data storage domain (attached and active) whose VMs or templates are registered.
    type: str
    required: true
  kind:
    description: Register VMs or templates (register the templates first, VMs may be based on them).
    type: str
    choices: [vm, template]
    default: vm
  names:
    description: The names (in the OVF store) to register. Default, every unregistered one of O(kind).
    type: list
    elements: str
  cluster:
    description: The cluster for VMs the mapping does not place (default, the cluster their configuration names).
    type: str
  mapping_file:
    description: The DR mapping file written by M(sre.ovirt.dr_plan).
    type: path
  mappings:
    description:
      - Mappings on top of (or instead of) O(mapping_file); an entry here replaces the file's entry for the same
        primary object.
      - Each of C(clusters), C(affinity_groups), C(affinity_labels), C(domains), C(roles) is a list of
        C({primary, secondary}) names; C(vnic_profiles) is a list of
        C({primary_network, primary_profile, secondary_network, secondary_profile}).
    type: dict
  name_suffix:
    description: Register a copy of each VM named NAME + this suffix, with new ids (for drills).
    type: str
  allow_partial_import:
    description: Register a VM whose disks are not all on the domain (it is still reported in RV(failed_vms)).
    type: bool
    default: false
  reassign_bad_macs:
    description: Let the Engine give a new MAC address to a vNIC whose address is taken or outside this site's
      MAC pool (VMs only).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: Reports what would be registered and what would fail; registers nothing and does not wait.
  diff_mode:
    support: full
    details: The registered names before and after.
notes:
  - Registering reads the domain's OVF store - a VM created or changed on the primary after the store's last
    update is missing or stale (see M(sre.ovirt.dr_plan) O(sre.ovirt.dr_plan#module:state=recorded)).
seealso:
  - module: sre.ovirt.storage_domain_import
  - module: sre.ovirt.dr_plan
"""

EXAMPLES = r"""
- name: Register the templates, then the VMs, of the imported domain
  sre.ovirt.vm_register:
    storage_domain: dr-data
    kind: "{{ item }}"
    mapping_file: /etc/sre-ovirt/dr/mapping.yml
  loop: [template, vm]

- name: Drill - register copies of two VMs on the isolated network
  sre.ovirt.vm_register:
    storage_domain: dr-data-drill
    names: [web1, db1]
    name_suffix: -drill
    mappings:
      clusters:
        - {primary: east, secondary: west}
      vnic_profiles:
        - {primary_network: app, primary_profile: app, secondary_network: drill, secondary_profile: drill}
"""

RETURN = r"""
registered:
  description: What was registered (would be, in check mode), HA first by priority.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Its name on this Engine (with O(name_suffix)).
      type: str
    id:
      description: Its id on this Engine (null in check mode for a copy).
      type: str
    kind:
      description: C(vm) or C(template).
      type: str
    status_in_ovf:
      description: Its status when the OVF store was written (C(up) - it ran on the primary).
      type: str
    ha_priority:
      description: Its high-availability priority, null when it is not highly available.
      type: int
    partial:
      description: Registered without some of what its configuration names - disks, or a vNIC profile, affinity
        group or label the Engine could not map (it is in RV(failed_vms) too).
      type: bool
  sample: [{name: db1, id: 1b2c..., kind: vm, status_in_ovf: up, ha_priority: 100, partial: false}]
unchanged:
  description: Registered already (same shape as RV(registered)).
  returned: always
  type: list
  elements: dict
failed_vms:
  description: What (VMs or templates, per O(kind)) could not be registered (or was registered without some
    disks), with the reason and what is missing (disk aliases, the cluster, the vNIC profile...).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The name in the OVF store.
      type: str
    reason:
      description: Why - the Engine's refusal, the disks missing from the domain, the cluster that does not map.
      type: str
    missing:
      description: What is missing - disk aliases (or ids), the cluster; empty when the Engine refused for another
        reason.
      type: list
      elements: str
  sample: [{name: app2, reason: "disks missing from storage domain dr-data: app2_data (5c1d...)",
            missing: [app2_data]}]
unregistered_seen:
  description: How many unregistered VMs (or templates) the domain's OVF store held.
  returned: always
  type: int
"""

try:
    from ovirtsdk4 import types as otypes
except ImportError:  # pragma: no cover - reported by EngineModule
    otypes = None

try:
    from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule, TaskFailed
    from ansible_collections.sre.ovirt.plugins.module_utils.client.wait import wait_for
    from ansible_collections.sre.ovirt.plugins.module_utils.dr import mapping as dr_mapping
    from ansible_collections.sre.ovirt.plugins.module_utils.dr import registration
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import (
        EngineChangeRefused, EngineError, EngineNotFound, get_by_name, last_event_id)
    from ansible_collections.sre.ovirt.plugins.module_utils.model import dr as facts
except ImportError:  # pragma: no cover
    pass


def main():
    module = EngineModule(argument_spec=dict(
        storage_domain=dict(type="str", required=True),
        kind=dict(type="str", choices=["vm", "template"], default="vm"),
        names=dict(type="list", elements="str"), cluster=dict(type="str"),
        mapping_file=dict(type="path"), mappings=dict(type="dict"), name_suffix=dict(type="str"),
        allow_partial_import=dict(type="bool", default=False), reassign_bad_macs=dict(type="bool", default=True)),
        supports_check_mode=True)
    try:
        result = run(module, module.params)
    except EngineError as exc:
        module.fail_from(exc)
    if result["failed_vms"]:
        module.fail_json(msg="%d of %d could not be registered: %s" % (
            len(result["failed_vms"]), len(set(f["name"] for f in result["failed_vms"]) | set(
                e["name"] for e in result["registered"] + result["unchanged"])),
            "; ".join("%s: %s" % (f["name"], f["reason"]) for f in result["failed_vms"])), **result)
    module.exit_json(**result)


def value(enum):
    return getattr(enum, "value", enum)


def load_mapping(p):
    mapping = {}
    if p["mapping_file"]:
        try:
            mapping = dr_mapping.read_file(p["mapping_file"])
        except dr_mapping.MappingError as exc:
            raise TaskFailed(str(exc), field="mapping_file")
    if p["mappings"]:
        known = set(dr_mapping.LIST_SECTIONS) - {"storage_domains", "vms"}
        unknown = sorted(set(p["mappings"]) - known)
        if unknown:
            raise TaskFailed("mappings: unknown section(s) %s; allowed: %s" % (", ".join(unknown), ", ".join(
                sorted(known))), field="mappings")
        errors = dr_mapping.check_shape(dict(p["mappings"], sites={"primary": {}, "secondary": {}}))
        if errors:
            raise TaskFailed("mappings: %s" % "; ".join(errors), field="mappings")
        mapping = dr_mapping.merged(mapping, p["mappings"])
    return mapping


def check_params(p):
    if p["names"] is not None and not all(n and n.strip() for n in p["names"]):
        raise TaskFailed("names: an empty name", field="names")
    if p["name_suffix"] is not None and not p["name_suffix"].strip():
        raise TaskFailed("name_suffix: must not be empty (leave it out to register the VMs themselves)",
                         field="name_suffix")


def entry(obj, name, kind, ovf=None):
    src = ovf if ovf is not None else obj
    ha = src.high_availability if src is not None else None
    return {"name": name, "id": obj.id if obj is not None else None, "kind": kind,
            "status_in_ovf": value(ovf.status) if ovf is not None and ovf.status is not None else None,
            "ha_priority": ha.priority if ha is not None and ha.enabled else None}


def order(entries):
    return sorted(entries, key=lambda e: (e.get("ha_priority") is None, -(e.get("ha_priority") or 0), e["name"]))


def site_profiles(system, dc_id):
    networks = dict((n.id, n.name) for n in
                    system.data_centers_service().data_center_service(dc_id).networks_service().list())
    return [{"network": networks[p.network.id], "profile": p.name, "id": p.id}
            for p in system.vnic_profiles_service().list() if p.network is not None and p.network.id in networks]


def expected_disks(sd_coll, ovf, kind):
    """The disks the VM's configuration names, ``[{"id", "alias"}]``, or None when the Engine does not say."""
    atts = ovf.disk_attachments
    if not atts and kind == "vm":
        try:
            atts = sd_coll.vm_service(ovf.id).disk_attachments_service().list()
        except EngineError:
            atts = None
    if not atts:
        return None
    out = []
    for a in atts:
        disk = a.disk
        did = disk.id if disk is not None else a.id
        out.append({"id": did, "alias": (disk.alias or disk.name) if disk is not None else None})
    return out


def run(module, p):
    check_params(p)
    mapping = load_mapping(p)
    kind = p["kind"]
    suffix = p["name_suffix"] or ""
    system = module.client.system_service()
    sds = system.storage_domains_service()
    sd = module.require(sds, p["storage_domain"], "storage domain", "storage_domain")
    if not sd.data_centers:
        raise TaskFailed("storage_domain: %s is not attached to a data center (import it with "
                         "sre.ovirt.storage_domain_import)" % sd.name, field="storage_domain")
    dc_id = sd.data_centers[0].id
    attached = system.data_centers_service().data_center_service(dc_id).storage_domains_service() \
        .storage_domain_service(sd.id).get()
    if value(attached.status) != facts.SD_ACTIVE:
        raise TaskFailed("storage_domain: %s is %s; it must be active to register from it" % (
            sd.name, value(attached.status)), field="storage_domain")
    try:
        config = registration.build(mapping, site_profiles(system, dc_id) if mapping.get(
            facts.PROFILE_SECTION) else [], kind=kind, field="mappings" if p["mappings"] else "mapping_file")
    except registration.RegistrationError as exc:
        raise TaskFailed(str(exc), field=exc.field)
    sd_service = sds.storage_domain_service(sd.id)
    sd_coll = sd_service.vms_service() if kind == "vm" else sd_service.templates_service()
    target = system.vms_service() if kind == "vm" else system.templates_service()
    what = "VM" if kind == "vm" else "template"
    unregistered = sd_coll.list(unregistered=True)
    by_name = {}
    for obj in unregistered:
        by_name.setdefault(obj.name, obj)
    clusters = set(c.name for c in system.clusters_service().list()
                   if c.data_center is not None and c.data_center.id == dc_id)
    present = None
    names = p["names"] if p["names"] is not None else sorted(by_name)
    registered, unchanged, failed, todo = [], [], [], []
    for name in names:
        target_name = name + suffix
        existing = get_by_name(target, target_name, what)
        ovf = by_name.get(name)
        if ovf is None:
            if existing is not None:
                unchanged.append(entry(existing, target_name, kind))
            else:
                failed.append({"name": name, "reason": "no unregistered %s named %s on storage domain %s" % (
                    what, name, sd.name), "missing": [name]})
            continue
        if existing is not None:
            if suffix or existing.id == ovf.id:
                unchanged.append(entry(existing, target_name, kind, ovf))
            else:
                failed.append({"name": name, "reason": "the name %s is taken on this Engine by another %s (id %s)"
                               % (target_name, what, existing.id), "missing": []})
            continue
        cluster, why = place(p, mapping, clusters, ovf)
        if why:
            failed.append({"name": name, "reason": why, "missing": [cluster_of(ovf, mapping) or "cluster"]})
            continue
        disks = expected_disks(sd_coll, ovf, kind)
        missing = []
        if disks is not None:
            if present is None:
                present = set(d.id for d in sd_service.disks_service().list()) | set(
                    d.id for d in sd_service.disks_service().list(unregistered=True))
            missing = registration.missing_disks(disks, present)
        if missing and not p["allow_partial_import"]:
            failed.append({"name": name, "reason": "disks missing from storage domain %s: %s (allow_partial_import "
                                                   "registers the %s without them)" % (
                                                       sd.name, registration.describe_disks(missing), what),
                           "missing": [d["alias"] or d["id"] for d in missing]})
            continue
        todo.append((name, target_name, ovf, cluster, disks))
    if p["names"] is None and not suffix:
        listed = set(e["name"] for e in unchanged)
        for obj in sd_coll.list():
            if obj.name not in listed and obj.name not in by_name:
                unchanged.append(entry(obj, obj.name, kind))
    result = {"changed": bool(todo), "unregistered_seen": len(unregistered), "failed_vms": failed,
              "unchanged": order(unchanged)}
    module.diff = {"before": {"registered": sorted(e["name"] for e in unchanged)},
                   "after": {"registered": sorted([e["name"] for e in unchanged] + [t[1] for t in todo])}}
    if module.check_mode:
        result["registered"] = order([dict(entry(None if suffix else t[2], t[1], kind, t[2]), partial=False)
                                      for t in todo])
        return result
    for name, target_name, ovf, cluster, disks in todo:
        try:
            obj, partial = register(module, p, system, sd_coll, target, kind, what, ovf, target_name, cluster,
                                    config, disks)
        except (EngineChangeRefused, TaskFailed):
            raise
        except EngineError as exc:
            text = exc.describe()
            failed.append({"name": name, "reason": "the Engine refused to register it: %s" % text,
                           "missing": registration.disks_named(text)})
            continue
        registered.append(dict(entry(obj, target_name, kind, ovf), partial=bool(partial)))
        if partial:
            failed.append({"name": name, "reason": "registered partially: %s" % partial["text"],
                           "missing": partial["missing"]})
    result.update(registered=order(registered), changed=bool(registered))
    return result


def cluster_of(ovf, mapping):
    """The primary cluster the VM's configuration names: the OVF's cluster name, else the mapping's VM list."""
    if ovf.cluster is not None and ovf.cluster.name:
        return ovf.cluster.name
    for v in (mapping or {}).get("vms") or []:
        if v.get("id") == ovf.id or v.get("name") == ovf.name:
            return v.get("cluster")
    return None


def place(p, mapping, clusters, ovf):
    """(cluster name or None, reason): None with no reason lets the Engine place the VM (the cluster its OVF names,
    through the registration configuration's cluster mappings)."""
    ovf_cluster = cluster_of(ovf, mapping)
    if ovf_cluster is None:
        mapped = [e["secondary"] for e in (mapping or {}).get("clusters") or []]
        name = p["cluster"] or (mapped[0] if len(mapped) == 1 else None)
        if name is None:
            return None, None
        if name not in clusters:
            return None, "cluster %s does not exist in the storage domain's data center" % name
        return name, None
    return registration.target_cluster(ovf_cluster, mapping, p["cluster"], clusters)


def register(module, p, system, sd_coll, target, kind, what, ovf, target_name, cluster, config, disks):
    """Register one VM/template exactly once; (the object, None or {"text", "missing"} when disks are left out)."""
    events = system.events_service()
    mark = last_event_id(events)
    svc = sd_coll.vm_service(ovf.id) if kind == "vm" else sd_coll.template_service(ovf.id)
    clone = bool(p["name_suffix"])
    kwargs = dict(cluster=otypes.Cluster(name=cluster) if cluster else None,
                  allow_partial_import=p["allow_partial_import"], registration_configuration=config)
    if clone:
        kwargs["clone"] = True
        kwargs["vm" if kind == "vm" else "template"] = (otypes.Vm if kind == "vm" else otypes.Template)(
            name=target_name)
    if kind == "vm":
        kwargs["reassign_bad_macs"] = p["reassign_bad_macs"]

    def find():
        found = get_by_name(target, target_name, what)
        if found is None and not clone:
            try:
                found = target.vm_service(ovf.id).get() if kind == "vm" else target.template_service(ovf.id).get()
            except EngineNotFound:
                found = None
        return found

    def add():
        svc.register(**kwargs)
        return find()

    obj = module.client.create(add, find, "%s %s registered" % (what, target_name))
    if obj is None or (p["wait"] and value(obj.status) in ("image_locked", "locked")):
        obj = wait_for(find, done=lambda o: o is not None and value(o.status) not in ("image_locked", "locked"),
                       gone_ok=True, timeout=p["timeout"], interval=p["poll_interval"], immediate=False,
                       what="%s %s to be registered" % (what, target_name),
                       describe=lambda o: "%s %s is %s" % (what, target_name, value(o.status) if o else "absent"))
    return obj, partial_import(system, target, kind, obj, disks, mark)


def partial_import(system, target, kind, obj, disks, mark):
    """None, or {"text", "missing"} when the registration left something out: disks of the configuration not
    attached, or the Engine's warning that it imported the VM without some entities."""
    missing = []
    if disks is not None and kind == "vm":
        have = set(a.id if a.disk is None else a.disk.id
                   for a in target.vm_service(obj.id).disk_attachments_service().list())
        missing = [d["alias"] or d["id"] for d in registration.missing_disks(disks, have)]
    said = []
    for e in system.events_service().list(from_=mark):
        about = (e.vm is not None and e.vm.id == obj.id) or (e.template is not None and e.template.id == obj.id)
        if about and (e.code in facts.PARTIAL_IMPORT_EVENTS or registration.PARTIAL_TEXT in (e.description or "")):
            said.append(e.description)
    for text in said:
        missing += [m for m in registration.disks_named(text) if m not in missing]
    disks_missing = list(missing)
    for text in said:
        missing += [m for m in registration.entities_named(text) if m not in missing]
    if not missing and not said:
        return None
    text = "disks %s not attached" % ", ".join(disks_missing) if disks_missing else ""
    if said:
        text = "%s%sthe Engine says: %s" % (text, "; " if text else "", said[0])
    return {"text": text, "missing": missing}


if __name__ == "__main__":
    main()
