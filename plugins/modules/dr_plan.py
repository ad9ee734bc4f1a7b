#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: dr_plan
short_description: The disaster-recovery mapping between two oVirt sites - generate, validate, record
version_added: 0.1.0
description:
  - Talks to two Engines, the O(primary) site and the O(secondary) site of an active-passive DR setup (two
    Engines, replicated data storage domains), and keeps the mapping file the failover reads
    (M(sre.ovirt.vm_register) O(sre.ovirt.vm_register#module:mapping_file), the C(sre.ovirt.dr) role).
  - O(state=generated) reads both sites and writes O(mapping_file) - every cluster, vNIC profile, affinity group,
    affinity label, MAC pool, custom role and authorization domain of the primary's data center is matched by name
    on the secondary, else by a O(name_map) rule. Anything that cannot be mapped is an error naming it, and the
    file is not written.
  - O(state=validated) reads the file and both sites - every primary object must be mapped, and map to an object
    that exists on the secondary; the errors name each entry.
  - O(state=recorded) writes the primary's VM inventory (name, id, status, HA and priority, storage domains) with
    the time into O(state_file), so an unplanned failover can name the VMs lost since the last OVF store update.
  - With O(max_rpo), every state fails when O(replica_age) (the storage array's replication lag) is older.
  - Writes local files only (never the Engines), so the SLO gate does not apply. The mapping file is YAML with
    the sections C(sites) (C(primary)/C(secondary) C({url, data_center})), C(storage_domains) (C({name, id,
    type, primary_address, secondary_address, primary_path, secondary_path, data_center_primary,
    data_center_secondary})), C(clusters), C(affinity_groups), C(affinity_labels), C(mac_pools), C(roles),
    C(domains) (lists of C({primary, secondary})), C(vnic_profiles) (C({primary_network, primary_profile,
    secondary_network, secondary_profile})) and C(vms) (the primary's VMs on those domains in start order - HA
    first, by priority - with C(name, id, ha, priority, cluster, storage_domains)).
author:
  - SRE oVirt team (@sre-ovirt)
options:
  primary:
    description: The primary site's Engine (the connection, as O(sre.ovirt.vm#module:auth)).
    type: dict
    required: true
    suboptions: &site
      url:
        description: The Engine's API URL, C(https://engine.example.com/ovirt-engine/api).
        type: str
        required: true
      username:
        description: The user (C(admin@internal)).
        type: str
      password:
        description: The user's password.
        type: str
      token:
        description: An SSO token instead of O(primary.username)/O(primary.password).
        type: str
      ca_file:
        description: PEM file of the CA that signed the Engine's certificate.
        type: path
      insecure:
        description: Skip TLS verification (labs only).
        type: bool
        default: false
      timeout:
        description: Seconds one HTTP request may take.
        type: int
        default: 60
      data_center:
        description: The site's data center. Default, its only initialized data center.
        type: str
  secondary:
    description: The secondary site's Engine; the same suboptions as O(primary).
    type: dict
    suboptions: *site
  state:
    description:
      - V(generated) - write O(mapping_file) from both sites.
      - V(validated) - check O(mapping_file) against both sites.
      - V(recorded) - write the primary's VM inventory into O(state_file) (reads the primary only).
    type: str
    choices: [generated, validated, recorded]
    default: validated
  mapping_file:
    description: The mapping file (YAML).
    type: path
    required: true
  name_map:
    description:
      - Rules for O(state=generated) when names differ between the sites.
      - "C({PRIMARY: SECONDARY}) applies to any object (and to storage paths and addresses, for C(secondary_path)
        and C(secondary_address)); per section, C({clusters: {east: west}, networks: {app: app-west},
        vnic_profiles: {app: app-west}, storage_domains: {/exports/dr: /replica/dr}})."
    type: dict
    default: {}
  storage_domains:
    description: The names of the replicated data domains. Default, every data domain of the primary's data
      center that holds VM disks.
    type: list
    elements: str
  state_file:
    description: Where O(state=recorded) writes the inventory (JSON). Default, C(inventory.json) next to
      O(mapping_file).
    type: path
  replica_age:
    description: The replica's age in seconds, as the storage array reports it.
    type: float
  max_rpo:
    description: The most the replica may lag, in seconds; with O(replica_age), the task fails when it is older.
    type: float
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reads both Engines and reports what would be written; writes no file.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The mapping file (or the inventory's VM names) before and after.
notes:
  - Not in the C(group/sre.ovirt.engine) action group - it talks to two Engines, which one O(sre.ovirt.vm#module:auth)
    could not say.
  - The C(OVIRT_*) environment variables are not read - each site is given explicitly.
  - O(state=generated) and O(state=validated) warn (Ansible warnings) when a replicated domain is active on both
    sites.
seealso:
  - module: sre.ovirt.storage_domain_import
  - module: sre.ovirt.vm_register
"""

EXAMPLES = r"""
- name: Generate the mapping
  sre.ovirt.dr_plan:
    state: generated
    primary: "{{ dr_primary_auth }}"
    secondary: "{{ dr_secondary_auth }}"
    mapping_file: /etc/sre-ovirt/dr/mapping.yml
    name_map:
      east: west
      app: app-west

- name: Validate it before a failover, with the array's replication lag
  sre.ovirt.dr_plan:
    primary: "{{ dr_primary_auth }}"
    secondary: "{{ dr_secondary_auth }}"
    mapping_file: /etc/sre-ovirt/dr/mapping.yml
    replica_age: "{{ replication.domains['dr-data'].age }}"
    max_rpo: 300

- name: Record the primary's VMs (after each OVF store update)
  sre.ovirt.dr_plan:
    state: recorded
    primary: "{{ dr_primary_auth }}"
    mapping_file: /etc/sre-ovirt/dr/mapping.yml
"""

RETURN = r"""
mapping:
  description: The mapping (generated, or read from the file).
  returned: always
  type: dict
errors:
  description: Each object that does not map, or each problem of the file, by section and entry.
  returned: always
  type: list
  elements: str
  sample: ["vnic_profiles: the primary's vNIC profile app on network app has no match on the secondary (no profile
           app on network app there; add a name_map rule or create it)"]
state_file:
  description: The inventory file (O(state=recorded)).
  returned: when state is recorded
  type: str
inventory:
  description: The recorded inventory (C(recorded_at) epoch seconds, C(vms)).
  returned: when state is recorded
  type: dict
"""

import os
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from ansible_collections.sre.ovirt.plugins.module_utils.client.errors import HAS_SDK
    from ansible_collections.sre.ovirt.plugins.module_utils.dr import inventory as dr_inventory
    from ansible_collections.sre.ovirt.plugins.module_utils.dr import mapping as dr_mapping
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import (
        EngineClient, EngineError, EngineSettings, EngineSettingsError)
    IMPORT_ERROR = None
except ImportError:  # pragma: no cover
    HAS_SDK = False
    IMPORT_ERROR = traceback.format_exc()


def site_spec():
    return dict(url=dict(type="str", required=True), username=dict(type="str"),
                password=dict(type="str", no_log=True), token=dict(type="str", no_log=True),
                ca_file=dict(type="path"), insecure=dict(type="bool", default=False),
                timeout=dict(type="int", default=60), data_center=dict(type="str"))


class PlanFailed(Exception):
    def __init__(self, msg, **result):
        super(PlanFailed, self).__init__(msg)
        self.result = result


def connect(p, site):
    auth = dict((k, v) for k, v in (p[site] or {}).items() if k != "data_center")
    try:
        # No OVIRT_* fallback: both sites in the environment's Engine would map a site onto itself.
        return EngineClient(EngineSettings.from_auth(auth, env={}))
    except EngineSettingsError as exc:
        raise PlanFailed(str(exc).replace("auth", site, 1), field=site)


def read(client, p, site, with_vms=True):
    try:
        return dr_inventory.read_site(client, (p[site] or {}).get("data_center"), field=site, with_vms=with_vms)
    except dr_inventory.SiteError as exc:
        raise PlanFailed(str(exc), field=exc.field)
    except EngineError as exc:
        raise PlanFailed("%s: %s" % (site, exc.describe() if hasattr(exc, "describe") else exc), field=site)


def check_rpo(p):
    if p["max_rpo"] is None:
        return None
    if p["replica_age"] is None:
        raise PlanFailed("replica_age: required with max_rpo (the replica's age as the storage array reports it)",
                         field="replica_age")
    if p["replica_age"] > p["max_rpo"]:
        raise PlanFailed("replica_age: the replica is %.0f s old, more than max_rpo %.0f s" % (
            p["replica_age"], p["max_rpo"]), field="replica_age")
    return p["replica_age"]


def run(module, p, clients):
    result = {"changed": False, "errors": [], "mapping": {}}
    if p["state"] != "recorded" and not p["secondary"]:
        raise PlanFailed("secondary: required with state=%s" % p["state"], field="secondary")
    errors = dr_mapping.check_name_map(p["name_map"])
    if errors:
        raise PlanFailed("name_map: %s" % "; ".join(errors), field="name_map", errors=errors)
    check_rpo(p)
    clients["primary"] = connect(p, "primary")
    if p["state"] == "recorded":
        return record(module, p, clients["primary"], result)
    clients["secondary"] = connect(p, "secondary")
    primary = read(clients["primary"], p, "primary")
    secondary = read(clients["secondary"], p, "secondary", with_vms=False)
    if p["state"] == "generated":
        mapping, errors = dr_mapping.generate(primary, secondary, p["name_map"], p["storage_domains"])
        result.update(mapping=mapping, errors=errors)
        if errors:
            raise PlanFailed("the mapping cannot be generated: %s" % "; ".join(errors), **result)
        _errors, warnings = dr_mapping.validate(mapping, primary, secondary)
        for text in warnings:
            module.warn(text)
        text = dr_mapping.dump(mapping)
        old = None
        if os.path.exists(p["mapping_file"]):
            with open(p["mapping_file"]) as f:
                old = f.read()
        result["changed"] = old != text
        if module._diff:
            result["diff"] = {"before": old or "", "after": text, "before_header": p["mapping_file"],
                              "after_header": p["mapping_file"]}
        if result["changed"] and not module.check_mode:
            dr_mapping.write_file(p["mapping_file"], text)
        return result
    try:
        mapping = dr_mapping.read_file(p["mapping_file"])
    except dr_mapping.MappingError as exc:
        raise PlanFailed(str(exc), field=exc.field, errors=exc.errors)
    errors, warnings = dr_mapping.validate(mapping, primary, secondary)
    for text in warnings:
        module.warn(text)
    result.update(mapping=mapping, errors=errors)
    if errors:
        raise PlanFailed("the mapping in %s does not hold: %s" % (p["mapping_file"], "; ".join(errors)), **result)
    return result


def record(module, p, client, result):
    path = p["state_file"] or os.path.join(os.path.dirname(os.path.abspath(p["mapping_file"])), "inventory.json")
    mapping = {}
    if os.path.exists(p["mapping_file"]):
        try:
            mapping = dr_mapping.read_file(p["mapping_file"])
        except dr_mapping.MappingError as exc:
            raise PlanFailed(str(exc), field=exc.field, errors=exc.errors)
    data_center = (p["primary"] or {}).get("data_center") or ((mapping.get("sites") or {}).get("primary") or {}).get(
        "data_center")
    try:
        inv = dr_inventory.read_site(client, data_center, field="primary")
    except dr_inventory.SiteError as exc:
        raise PlanFailed(str(exc), field=exc.field)
    domains = p["storage_domains"] or [sd["name"] for sd in mapping.get("storage_domains") or []]
    text, doc = dr_inventory.state_text(inv["vms"], domains, int(time.time()))
    old = None
    if os.path.exists(path):
        try:
            old = dr_inventory.read_state(path)
        except (OSError, ValueError):
            old = None
    result.update(state_file=path, mapping=mapping)
    if dr_inventory.same_inventory(old, doc):
        return dict(result, inventory=old)
    result.update(changed=True, inventory=doc)
    if module._diff:
        result["diff"] = {"before": {"vms": [v["name"] for v in (old or {}).get("vms") or []]},
                          "after": {"vms": [v["name"] for v in doc["vms"]]}}
    if not module.check_mode:
        dr_mapping.write_file(path, text)
    return result


def main():
    module = AnsibleModule(argument_spec=dict(
        primary=dict(type="dict", required=True, options=site_spec()),
        secondary=dict(type="dict", options=site_spec()),
        state=dict(type="str", choices=["generated", "validated", "recorded"], default="validated"),
        mapping_file=dict(type="path", required=True), name_map=dict(type="dict", default={}),
        storage_domains=dict(type="list", elements="str"), state_file=dict(type="path"),
        replica_age=dict(type="float"), max_rpo=dict(type="float")),
        supports_check_mode=True)
    if IMPORT_ERROR:
        module.fail_json(msg="cannot load the collection's module_utils", exception=IMPORT_ERROR)
    if not HAS_SDK:
        module.fail_json(msg=missing_required_lib("ovirt-engine-sdk-python"))
    clients = {}
    try:
        result = run(module, module.params, clients)
    except PlanFailed as exc:
        out = dict({"changed": False, "errors": [str(exc)], "mapping": {}}, **exc.result)
        close(clients)
        module.fail_json(msg=str(exc), **out)
    except EngineError as exc:
        close(clients)
        module.fail_json(msg=exc.describe() if hasattr(exc, "describe") else str(exc), changed=False)
    close(clients)
    module.exit_json(**result)


def close(clients):
    for client in clients.values():
        client.close()
    clients.clear()


if __name__ == "__main__":
    main()
