# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The inventory plugin's pure logic: which groups an Engine VM or host belongs to, its ``ovirt_*`` host variables,
its HA tier and the address Ansible connects to. No requests here: ``inventory.collect`` reads the Engine."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

PREFIX = "ovirt_"
VMS_GROUP = "ovirt_vms"
HOSTS_GROUP = "ovirt_hosts"
# The house's HA tiers (role ha_policy: gold = priority 100, silver = 50, bronze = HA off): a VM with HA on is in
# the tier with the highest minimum priority it reaches (below every minimum: the lowest tier); HA off: bronze.
DEFAULT_HA_TIERS = {"gold": 100, "silver": 0}
DEFAULT_HA_DISABLED_TIER = "bronze"
PREFER = ("ipv4", "ipv6")


def group_name(prefix, value):
    """``cluster_Default``: the prefix and the value with every character Ansible does not allow in a group name
    (anything but letters, digits and ``_``) replaced by ``_``."""
    return "%s_%s" % (prefix, re.sub(r"[^A-Za-z0-9_]", "_", str(value)))


def ha_tier(enabled, priority, tiers=None, disabled_tier=DEFAULT_HA_DISABLED_TIER):
    """The HA tier of a VM from its HA flag and priority (``tiers``: name -> lowest priority of the tier)."""
    if not enabled:
        return disabled_tier or None
    tiers = DEFAULT_HA_TIERS if tiers is None else tiers
    if not tiers:
        return None
    ranked = sorted(tiers.items(), key=lambda kv: (-int(kv[1]), kv[0]))
    for name, lowest in ranked:
        if int(priority or 0) >= int(lowest):
            return name
    return ranked[-1][0]


def validate_ha_tiers(tiers):
    """The ``ha_tiers`` option: a dict of tier name to an integer priority; raises ValueError naming the problem."""
    if not isinstance(tiers, dict):
        raise ValueError("ha_tiers must be a dict of tier name to lowest HA priority, e.g. {gold: 100, silver: 0}; "
                         "got %r" % (tiers,))
    for name, lowest in tiers.items():
        try:
            int(lowest)
        except (TypeError, ValueError):
            raise ValueError("ha_tiers: the lowest priority of tier %s must be an integer, got %r" % (name, lowest))


def _version(ip):
    version = str(ip.get("version") or "").lower()
    if version in ("v4", "v6"):
        return version
    try:
        return "v%d" % ipaddress.ip_address(ip.get("address")).version
    except ValueError:
        return None


def usable(address):
    """An address Ansible can reach the guest on: not loopback, link-local, unspecified or multicast."""
    try:
        a = ipaddress.ip_address(address)
    except ValueError:
        return False
    return not (a.is_loopback or a.is_link_local or a.is_unspecified or a.is_multicast)


def choose_address(ips, prefer="ipv4", fallbacks=()):
    """The address for ``ansible_host``: the guest agent's first usable address of the preferred family (``ips`` as
    reported, NIC by NIC), else of the other family, else the first of ``fallbacks`` that is set (an FQDN, a
    host's address); None when there is nothing."""
    if prefer not in PREFER:
        raise ValueError("ansible_host_prefer must be one of %s, got %r" % (", ".join(PREFER), prefer))
    first = "v4" if prefer == "ipv4" else "v6"
    order = [first, "v6" if first == "v4" else "v4"]
    for version in order:
        for ip in ips or []:
            if _version(ip) == version and usable(ip.get("address")):
                return ip["address"]
    for value in fallbacks:
        if value:
            return value
    return None


def vm_entry(vm, options):
    """(host variables, groups) of one VM record (``inventory.collect.vm_record``)."""
    ha = vm.get("ha") or {}
    tier = ha_tier(ha.get("enabled"), ha.get("priority"), options.get("ha_tiers"),
                   options.get("ha_tier_disabled", DEFAULT_HA_DISABLED_TIER))
    ips = [ip["address"] for ip in vm.get("ips") or []]
    hostvars = {
        "id": vm["id"], "name": vm["name"], "kind": "vm", "cluster": vm.get("cluster"),
        "datacenter": vm.get("datacenter"), "status": vm.get("status"), "memory": vm.get("memory"),
        "cpu": vm.get("cpu"), "os": vm.get("os"), "tags": sorted(vm.get("tags") or []),
        "ha": {"enabled": bool(ha.get("enabled")), "priority": ha.get("priority"), "tier": tier},
        "ips": ips, "fqdn": vm.get("fqdn"), "host": vm.get("host"), "description": vm.get("description"),
    }
    hostvars = dict((PREFIX + k, v) for k, v in hostvars.items())
    address = choose_address(vm.get("ips"), options.get("ansible_host_prefer", "ipv4"), (vm.get("fqdn"),))
    if address:
        hostvars["ansible_host"] = address
    groups = [VMS_GROUP] + _common_groups(vm)
    if vm.get("os"):
        groups.append(group_name("os", vm["os"]))
    if tier:
        groups.append(group_name("ha", tier))
    return hostvars, groups


def host_entry(host, options=None):
    """(host variables, groups) of one hypervisor record (``inventory.collect.host_record``)."""
    hostvars = {
        "id": host["id"], "name": host["name"], "kind": "host", "cluster": host.get("cluster"),
        "datacenter": host.get("datacenter"), "status": host.get("status"), "memory": host.get("memory"),
        "cpu": host.get("cpu"), "os": host.get("os"), "tags": sorted(host.get("tags") or []),
        "address": host.get("address"), "spm": host.get("spm"), "update_available": host.get("update_available"),
    }
    hostvars = dict((PREFIX + k, v) for k, v in hostvars.items())
    if host.get("address"):
        hostvars["ansible_host"] = host["address"]
    return hostvars, [HOSTS_GROUP] + _common_groups(host)


def _common_groups(obj):
    groups = []
    for prefix, key in (("cluster", "cluster"), ("datacenter", "datacenter"), ("status", "status")):
        if obj.get(key):
            groups.append(group_name(prefix, obj[key]))
    for tag in sorted(obj.get("tags") or []):
        groups.append(group_name("tag", tag))
    return groups
