#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vm_info
short_description: Read oVirt VMs, with their NICs, disks and tags, in one request
version_added: 0.1.0
description:
  - Lists VMs by name, by the Engine's search language, or by cluster, and returns them as data.
  - Linked objects named in O(follow) are embedded by the Engine in the same answer, so listing 100 VMs with
    their disks is one request, not 101.
author:
  - SRE oVirt team (@sre-ovirt)
extends_documentation_fragment:
  - sre.ovirt.engine
  - sre.ovirt.slo_policy.read_only
  - sre.ovirt.attributes.info_module
options:
  name:
    description: Exact VM name. Wildcards are not expanded; use O(search) for patterns.
    type: str
  names:
    description:
      - Exact VM names, any of them (one request). A comma-separated string is accepted, as from a survey.
      - An empty list finds no VM (and sends no request).
    type: list
    elements: str
  search:
    description:
      - A query in the Engine's search language, for example C(name=web* and status=up) or C(tag=db).
    type: str
  cluster:
    description: Only VMs of this cluster.
    type: str
  tag:
    description: Only VMs with this tag.
    type: str
  follow:
    description:
      - Links to embed in each VM, for example V(disk_attachments.disk), V(nics.vnic_profile), V(tags),
        V(host), V(statistics).
    type: list
    elements: str
    default: []
  max:
    description: At most this many VMs.
    type: int
  case_sensitive:
    description: Whether O(search) and O(name) match case-sensitively.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Every running web VM with its disks and NICs
  sre.ovirt.vm_info:
    search: name=web* and status=up
    follow: [disk_attachments.disk, nics]
  register: web

- name: One VM
  sre.ovirt.vm_info:
    name: db01
  register: db

- name: Addresses the guest agents of two VMs report
  sre.ovirt.vm_info:
    names: [web01, web02]
    follow: [reported_devices]
  register: guests
"""

RETURN = r"""
vms:
  description: The VMs found, each as the Engine describes it (ids, names, status, memory, cpu, links that were
    followed). Empty when nothing matches.
    - With V(reported_devices) in O(follow), each VM also has C(guest_ips), the addresses its guest agent
      reports, IPv4 first.
  returned: always
  type: list
  elements: dict
  sample: [{"id": "3d1c1f4e-0f0e-4bd0-9ad2-6f3a1c1d2e3f", "name": "web01", "status": "up", "memory": 4294967296,
            "guest_ips": ["198.18.0.12", "2001:db8::5054:ff:fe00:12"]}]
engine_requests:
  description: Number of HTTP requests this task sent to the Engine.
  returned: always
  type: int
"""

from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule
from ansible_collections.sre.ovirt.plugins.module_utils.client.errors import EngineError
from ansible_collections.sre.ovirt.plugins.module_utils.client.convert import to_dict
from ansible_collections.sre.ovirt.plugins.module_utils.client.search import all_of, any_of, where


def build_search(p):
    narrowed = p["name"] or p["names"] or p["cluster"] or p["tag"]
    user = ("(%s)" % p["search"] if narrowed else p["search"]) if p["search"] else None
    names = "(%s)" % any_of(*(where("name", n) for n in p["names"])) if p["names"] else None
    return all_of(where("name", p["name"]) if p["name"] else None, names,
                  where("cluster", p["cluster"]) if p["cluster"] else None,
                  where("tag", p["tag"]) if p["tag"] else None, user) or None


def main():
    module = EngineModule(
        argument_spec=dict(name=dict(type="str"), names=dict(type="list", elements="str"),
                           search=dict(type="str"), cluster=dict(type="str"),
                           tag=dict(type="str"), follow=dict(type="list", elements="str", default=[]),
                           max=dict(type="int"),
                           case_sensitive=dict(type="bool", default=True)),
        supports_check_mode=True, waits=False, mutating=False)
    p = module.params
    if p["names"] is not None and not p["names"]:
        module.exit_json(changed=False, vms=[])
    try:
        vms = module.client.system_service().vms_service().list(
            search=build_search(p), follow=",".join(p["follow"]) or None, max=p["max"],
            case_sensitive=p["case_sensitive"])
        if p["name"]:
            vms = [v for v in vms if (v.name == p["name"] if p["case_sensitive"]
                                      else v.name.lower() == p["name"].lower())]
    except EngineError as exc:
        module.fail_from(exc)
    guest = "reported_devices" in p["follow"]
    module.exit_json(changed=False, vms=[dict(to_dict(v, depth=4), **({"guest_ips": guest_ips(v)} if guest else {}))
                                         for v in vms])


def guest_ips(vm):
    """The addresses the VM's guest agent reports (reported devices), IPv4 first, each once."""
    found = []
    for device in vm.reported_devices or []:
        for ip in device.ips or []:
            if ip.address and ip.address not in found:
                found.append(ip.address)
    return sorted(found, key=lambda a: ":" in a)


if __name__ == "__main__":
    main()
