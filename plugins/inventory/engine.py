# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: engine
short_description: oVirt / RHV Engine VMs and hosts as inventory
version_added: 0.1.0
description:
  - Reads VMs and hypervisors from an oVirt / Red Hat Virtualization Engine and puts them in the inventory, grouped
    by cluster (C(cluster_<name>)), data center (C(datacenter_<name>)), tag (C(tag_<name>)), status
    (C(status_<status>)), OS type (C(os_<type>), VMs), HA tier (C(ha_<tier>), VMs), and C(ovirt_vms) /
    C(ovirt_hosts). Characters other than letters, digits and C(_) in a group name become C(_).
  - Host variables carry an C(ovirt_) prefix - C(ovirt_id), C(ovirt_name), C(ovirt_kind) (V(vm) or V(host)),
    C(ovirt_cluster), C(ovirt_datacenter), C(ovirt_status), C(ovirt_memory) (bytes), C(ovirt_cpu) (vCPUs or
    cores), C(ovirt_os), C(ovirt_tags); for VMs C(ovirt_ha) (C(enabled), C(priority), C(tier)), C(ovirt_ips) (what
    the guest agent reports), C(ovirt_fqdn), C(ovirt_host) (the hypervisor it runs on), C(ovirt_description); for
    hosts C(ovirt_address), C(ovirt_spm), C(ovirt_update_available).
  - C(ansible_host) of a VM is the first address of the preferred family (O(ansible_host_prefer)) that its guest
    agent reports, else one of the other family, else its FQDN; VMs without any of these keep their name. A
    hypervisor's C(ansible_host) is its address in the Engine.
  - A bounded number of requests whatever the size of the estate - data centers, clusters and hosts in one list
    each, VMs in one list with C(follow=tags,reported_devices) (or in pages of O(vm_page_size)), never one request
    per VM - and one log-in (and log-out) per run. With O(cache=true) a cached run sends no request at all.
  - Uses the same engine client and connection settings as the modules. Each connection option falls back to the
    C(OVIRT_*) environment variable AWX's Red Hat Virtualization credential injects.
  - The configuration file's name must end in C(.ovirt.yml) or C(.ovirt.yaml) (or be C(ovirt.yml) / C(ovirt.yaml)).
author:
  - SRE oVirt team (@sre-ovirt)
requirements:
  - ovirt-engine-sdk-python >= 4.6
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin.
    required: true
    type: str
    choices: [sre.ovirt.engine]
  url:
    description:
      - API URL, for example V(https://engine.example.com/ovirt-engine/api).
    type: str
    env:
      - name: OVIRT_URL
  username:
    description: User, for example V(admin@internal).
    type: str
    env:
      - name: OVIRT_USERNAME
  password:
    description: Password of O(username). Better in the environment or vaulted than in the file.
    type: str
    env:
      - name: OVIRT_PASSWORD
  token:
    description: An SSO token to use instead of O(username) and O(password); it is never revoked by the plugin.
    type: str
    env:
      - name: OVIRT_TOKEN
  ca_file:
    description:
      - PEM file of the CA that signed the Engine's certificate. Without it, the system's trust store is used.
    type: path
    env:
      - name: OVIRT_CAFILE
  insecure:
    description:
      - Skip TLS verification. Only for labs; an explicit opt-in. TLS certificates are verified otherwise.
    type: bool
    env:
      - name: OVIRT_INSECURE
  timeout:
    description: Seconds one HTTP request may take.
    type: int
    default: 60
  want_vms:
    description: Put the Engine's VMs in the inventory.
    type: bool
    default: true
  want_hosts:
    description: Put the Engine's hosts (hypervisors) in the inventory.
    type: bool
    default: true
  vm_search:
    description:
      - Only the VMs this Engine search finds, as in the Administration Portal's search box, for example
        V(cluster=prod and status=up) or V(tag=web).
    type: str
  vm_page_size:
    description:
      - List VMs in pages of this many (sorted by name) instead of in one answer; V(0) lists them in one request.
    type: int
    default: 0
  ansible_host_prefer:
    description: Which address family of the guest agent's addresses C(ansible_host) of a VM takes first.
    type: str
    choices: [ipv4, ipv6]
    default: ipv4
  ha_tiers:
    description:
      - HA tier names (group C(ha_<tier>), C(ovirt_ha.tier)) by the lowest HA priority of the tier. A VM with high
        availability on is in the tier with the highest lowest priority it reaches (below all of them, in the
        lowest tier); a VM with it off is in O(ha_tier_disabled).
      - The defaults match role C(sre.ovirt.ha_policy)'s tiers (gold = priority 100, silver = 50, bronze = HA off).
    type: dict
    default: {gold: 100, silver: 0}
  ha_tier_disabled:
    description: The HA tier of VMs with high availability off; empty puts them in no HA group.
    type: str
    default: bronze
"""

EXAMPLES = r"""
---
# engine.ovirt.yml - with OVIRT_URL, OVIRT_USERNAME, OVIRT_PASSWORD and OVIRT_CAFILE in the environment (as AWX
# sets them), this is enough:
plugin: sre.ovirt.engine
---
# prod.ovirt.yml - only the running VMs of one cluster, cached for an hour, with groups of your own:
plugin: sre.ovirt.engine
url: https://engine.example.com/ovirt-engine/api
username: automation@internal
ca_file: /etc/pki/ovirt-engine/ca.pem
want_hosts: false
vm_search: cluster=prod and status=up
ansible_host_prefer: ipv6
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/sre-ovirt-inventory
cache_timeout: 3600
keyed_groups:
  - key: ovirt_os
    prefix: family
groups:
  databases: "'db' in ovirt_tags"
compose:
  ansible_user: "'cloud-user' if ovirt_os.startswith('rhel') else 'root'"
---
# hypervisors.ovirt.yml - the hosts, for rolling_patch_method=package (hosts reached over SSH at their address):
plugin: sre.ovirt.engine
want_vms: false
"""

import hashlib
import json

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.sre.ovirt.plugins.module_utils.client.errors import (
    HAS_SDK, EngineError, EngineSettingsError, translate)
from ansible_collections.sre.ovirt.plugins.module_utils.engine import EngineClient, EngineSettings
from ansible_collections.sre.ovirt.plugins.module_utils.inventory import collect, entries

AUTH_OPTIONS = ("url", "username", "password", "token", "ca_file", "insecure", "timeout")
# The client's settings errors name the modules' auth fields; here they are top-level options.
SETTINGS_FIELDS = {"auth.url": "url", "auth.ca_file": "ca_file", "auth": "username and password, or token"}
# What decides the Engine's answer: part of the cache key, so a changed file never reads another file's cache.
# (No secret: the password and the token stay out of the key.)
FETCH_OPTIONS = ("url", "username", "want_vms", "want_hosts", "vm_search", "vm_page_size")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = "sre.ovirt.engine"

    def verify_file(self, path):
        if not super(InventoryModule, self).verify_file(path):
            return False
        name = path.replace("\\", "/").rsplit("/", 1)[-1]
        return name in ("ovirt.yml", "ovirt.yaml") or name.endswith((".ovirt.yml", ".ovirt.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        config = self._read_config_data(path)
        self._check_config(config)

        key = "%s_%s" % (self.get_cache_key(path), self._fetch_digest())
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        data = None
        if use_cache:
            try:
                data = self._cache[key]
            except KeyError:
                update_cache = True
        if data is None:
            data = self._fetch()
        if update_cache:
            self._cache[key] = data
        self._populate(data)

    # -- options ---------------------------------------------------------------------------------
    def _check_config(self, config):
        """Unknown keys and values Ansible does not check, each named with what is allowed, before any request."""
        known = set(self._options) | set(["plugin"])
        unknown = sorted(k for k in config if k not in known)
        if unknown:
            raise AnsibleParserError("sre.ovirt.engine: unknown option(s) %s; known: %s" % (
                ", ".join(unknown), ", ".join(sorted(known))))
        try:
            entries.validate_ha_tiers(self.get_option("ha_tiers"))
        except ValueError as exc:
            raise AnsibleParserError("sre.ovirt.engine: %s" % exc)
        if self.get_option("vm_page_size") < 0:
            raise AnsibleParserError("sre.ovirt.engine: vm_page_size must be 0 (one request) or a positive number, "
                                     "got %s" % self.get_option("vm_page_size"))
        if not (self.get_option("want_vms") or self.get_option("want_hosts")):
            raise AnsibleParserError("sre.ovirt.engine: want_vms and want_hosts are both false: nothing to list")

    def _fetch_digest(self):
        values = dict((k, self.get_option(k)) for k in FETCH_OPTIONS)
        return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:12]

    # -- the Engine ------------------------------------------------------------------------------
    def _fetch(self):
        if not HAS_SDK:
            raise AnsibleError("sre.ovirt.engine needs ovirt-engine-sdk-python (pip install ovirt-engine-sdk-python)")
        auth = dict((k, self.get_option(k)) for k in AUTH_OPTIONS)
        try:
            settings = EngineSettings.from_auth(auth)
        except EngineSettingsError as exc:
            # The modules' auth.url is this plugin's url (and auth's username/password/token are options here too).
            field = SETTINGS_FIELDS.get(exc.field, exc.field)
            raise AnsibleParserError("sre.ovirt.engine: %s: %s" % (field, to_native(exc)[len(exc.field) + 2:]))
        client = EngineClient(settings)
        try:
            return collect.fetch(client, want_vms=self.get_option("want_vms"), want_hosts=self.get_option("want_hosts"),
                                 vm_search=self.get_option("vm_search"), page_size=self.get_option("vm_page_size"))
        except Exception as exc:  # noqa: BLE001 - every failure reaches the user as one message naming the Engine
            err = translate(exc)
            text = err.describe() if isinstance(err, EngineError) else to_native(err)
            raise AnsibleError("sre.ovirt.engine: reading the inventory from %s failed: %s" % (settings.url, text))
        finally:
            client.close()

    # -- the inventory ---------------------------------------------------------------------------
    def _populate(self, data):
        options = {"ha_tiers": self.get_option("ha_tiers"), "ha_tier_disabled": self.get_option("ha_tier_disabled"),
                   "ansible_host_prefer": self.get_option("ansible_host_prefer")}
        strict = self.get_option("strict")
        seen = {}
        items = [entries.host_entry(h, options) for h in data.get("hosts") or []]
        items += [entries.vm_entry(v, options) for v in data.get("vms") or []]
        for hostvars, groups in items:
            name = hostvars["ovirt_name"]
            if name in seen:
                self.display.warning("sre.ovirt.engine: a %s and a %s are both named %s; the inventory keeps the %s" % (
                    seen[name], hostvars["ovirt_kind"], name, seen[name]))
                continue
            seen[name] = hostvars["ovirt_kind"]
            self.inventory.add_host(name)
            for group in groups:
                self.inventory.add_group(group)
                self.inventory.add_child(group, name)
            for var, value in hostvars.items():
                self.inventory.set_variable(name, var, value)
            self._set_composite_vars(self.get_option("compose"), hostvars, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, name, strict=strict)
