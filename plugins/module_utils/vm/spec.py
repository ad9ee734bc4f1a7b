# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Desired VM state from module parameters, current state from an SDK ``Vm``, and the difference.

Pure logic, no Engine calls: everything here is unit-tested without a connection. Both sides are reduced
to the same plain-dict shape, so comparing is ``==`` and the diff shown to the user is exactly what is
compared. Fields the user did not set are left out of the desired state and never compared.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

try:
    import netaddr
    HAS_NETADDR = True
except ImportError:  # pragma: no cover - reported by the module with missing_required_lib
    HAS_NETADDR = False

# Every unit is binary: oVirt users write 4GB and mean 4 GiB (the Admin Portal's "MB" and "GB" are MiB and GiB,
# and ansible-core's human_to_bytes reads GB the same way), so KB/MB/GB/TB, K/M/G/T and KiB/MiB/GiB/TiB agree.
_UNITS = dict((prefix + suffix, 1 << (10 * power))
              for power, prefix in enumerate(("", "k", "m", "g", "t"))
              for suffix in (("b",) if not prefix else ("", "b", "i", "ib")))
_UNITS[""] = 1
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
DISK_INTERFACES = ("virtio", "virtio_scsi", "sata", "ide", "spapr_vscsi")
DISK_FORMATS = ("cow", "raw")
NIC_INTERFACES = ("virtio", "e1000", "e1000e", "rtl8139", "pci_passthrough", "spapr_vlan")
VM_TYPES = ("server", "desktop", "high_performance")


class SpecError(ValueError):
    """Bad input, raised before anything is sent to the Engine. ``field`` names the option."""

    def __init__(self, field, message):
        super(SpecError, self).__init__("%s: %s" % (field, message))
        self.field = field


def parse_size(value, field):
    """``4GiB`` / ``4GB`` / ``4g`` / ``512MiB`` / ``1TiB`` / ``2048`` (bytes) -> bytes; every unit is binary."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = _SIZE_RE.match(str(value))
    unit = m.group(2).lower() if m else None
    if not m or unit not in _UNITS:
        raise SpecError(field, "'%s' is not a size; use a number with one of the units B, KiB, MiB, GiB, TiB "
                               "(KB, MB, GB, TB and K, M, G, T mean the same, binary), e.g. 4GiB or 512MiB" % (value,))
    size = float(m.group(1)) * _UNITS[unit]
    if size != int(size):
        raise SpecError(field, "'%s' is not a whole number of bytes; use a larger unit (KiB, MiB, GiB) or an integer" % (value,))
    return int(size)


def _choice(value, allowed, field):
    if value is not None and value not in allowed:
        raise SpecError(field, "'%s' is not allowed; allowed values are %s" % (value, ", ".join(allowed)))
    return value


def _mac(value, field):
    if not re.match(r"^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$", value or ""):
        raise SpecError(field, "'%s' is not a MAC address (six hex pairs separated by colons)" % value)
    if int(value[:2], 16) & 1:
        raise SpecError(field, "'%s' is a multicast MAC address; a NIC needs a unicast one (first octet even)" % value)
    return value.lower()


def _ip_with_prefix(value, version, field):
    if not HAS_NETADDR:
        raise SpecError(field, "netaddr is required to validate IP addresses")
    if "/" not in str(value):
        raise SpecError(field, "'%s' needs a prefix length, e.g. %s" % (
            value, "192.0.2.10/24" if version == 4 else "2001:db8::10/64"))
    try:
        net = netaddr.IPNetwork(value)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise SpecError(field, "'%s' is not a valid IPv%d address with prefix" % (value, version))
    addr_part, prefix_part = str(value).split("/", 1)
    if net.version != version or not prefix_part.isdigit():
        raise SpecError(field, "'%s' is not a valid IPv%d address with prefix" % (value, version))
    if int(prefix_part) > (32 if version == 4 else 128) or int(prefix_part) < 1:
        raise SpecError(field, "prefix /%s is out of range for IPv%d" % (prefix_part, version))
    if version == 4 and net.prefixlen < 31 and net.ip in (net.network, net.broadcast):
        raise SpecError(field, "'%s' is the network or broadcast address of its subnet" % value)
    return net


def _ip(value, version, field):
    if not HAS_NETADDR:
        raise SpecError(field, "netaddr is required to validate IP addresses")
    try:
        ip = netaddr.IPAddress(value)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise SpecError(field, "'%s' is not a valid IP address" % (value,))
    if version and ip.version != version:
        raise SpecError(field, "'%s' is not an IPv%d address" % (value, version))
    return ip


# The Engine's rule for VM names (VmStatic: letters of any language, digits, '_', '-', '.'; at most
# MaxVmNameLength = 64 characters on Linux guests).
VM_NAME_MAX = 64
VM_NAME = re.compile(r"^[\w.-]+$", re.UNICODE)


def check_vm_name(name, field="name"):
    if not name or len(name) > VM_NAME_MAX or not VM_NAME.match(name):
        raise SpecError(field, "'%s' is not a valid VM name: 1 to %d characters, letters, digits, '_', '-' and '.' "
                               "only (the Engine refuses anything else)" % (name, VM_NAME_MAX))
    return name


def desired_from_params(p):
    """Validate module parameters and return the desired state as a plain dict (only what was set)."""
    d = {}
    if "name" in p:
        check_vm_name(p["name"])
    for key in ("description", "comment", "os_type"):
        if p.get(key) is not None:
            d[key] = p[key]
    d_type = _choice(p.get("type"), VM_TYPES, "type")
    if d_type:
        d["type"] = d_type
    mem = parse_size(p.get("memory"), "memory")
    guaranteed = parse_size(p.get("memory_guaranteed"), "memory_guaranteed")
    mmax = parse_size(p.get("memory_max"), "memory_max")
    if mem is not None:
        if mem < (1 << 20) or mem % (1 << 20):
            raise SpecError("memory", "must be a positive whole number of MiB, got %d bytes%s" % (
                mem, " (a number without a unit is bytes: write %sMiB or a size like 4GiB)" % p["memory"]
                if _SIZE_RE.match(str(p["memory"])) and not _SIZE_RE.match(str(p["memory"])).group(2) else ""))
        d["memory"] = mem
    if guaranteed is not None:
        if mem is not None and guaranteed > mem:
            raise SpecError("memory_guaranteed", "%s is more than memory %s" % (p["memory_guaranteed"], p["memory"]))
        d["memory_guaranteed"] = guaranteed
    if mmax is not None:
        if mem is not None and mmax < mem:
            raise SpecError("memory_max", "%s is less than memory %s" % (p["memory_max"], p["memory"]))
        d["memory_max"] = mmax
    for key in ("cpu_sockets", "cpu_cores", "cpu_threads"):
        if p.get(key) is not None:
            if p[key] < 1:
                raise SpecError(key, "must be at least 1, got %d" % p[key])
            d[key] = p[key]
    if p.get("high_availability") is not None:
        d["high_availability"] = bool(p["high_availability"])
    if p.get("high_availability_priority") is not None:
        prio = p["high_availability_priority"]
        if not 0 <= prio <= 100:
            raise SpecError("high_availability_priority", "must be between 0 and 100, got %d" % prio)
        d["high_availability_priority"] = prio
    if p.get("tags") is not None:
        d["tags"] = sorted(set(p["tags"]))
    if p.get("nics") is not None:
        d["nics"] = _nics(p["nics"])
    if p.get("disks") is not None:
        d["disks"] = _disks(p["disks"])
    if p.get("cloud_init") is not None:
        d["cloud_init"] = _cloud_init(p["cloud_init"])
    return d


def _nics(nics):
    out, seen, macs = [], set(), set()
    for i, nic in enumerate(nics):
        field = "nics[%d]" % i
        name = nic.get("name")
        if not name:
            raise SpecError(field + ".name", "is required")
        if name in seen:
            raise SpecError(field + ".name", "duplicate NIC name '%s'; each NIC needs a unique name" % name)
        seen.add(name)
        item = {"name": name}
        if nic.get("profile") is not None:
            item["profile"] = nic["profile"]
        if nic.get("network") is not None:
            item["network"] = nic["network"]
        if nic.get("interface") is not None:
            item["interface"] = _choice(nic["interface"], NIC_INTERFACES, field + ".interface")
        if nic.get("mac") is not None:
            mac = _mac(nic["mac"], field + ".mac")
            if mac in macs:
                raise SpecError(field + ".mac", "MAC %s is used by another NIC in this list" % mac)
            macs.add(mac)
            item["mac"] = mac
        out.append(item)
    return sorted(out, key=lambda n: n["name"])


def _disks(disks):
    out, seen, boot = [], set(), 0
    for i, disk in enumerate(disks):
        field = "disks[%d]" % i
        name = disk.get("name")
        if not name:
            raise SpecError(field + ".name", "is required")
        if name in seen:
            raise SpecError(field + ".name", "duplicate disk name '%s'" % name)
        seen.add(name)
        item = {"name": name}
        size = parse_size(disk.get("size"), field + ".size")
        if size is not None:
            item["size"] = size
        for key, allowed in (("interface", DISK_INTERFACES), ("format", DISK_FORMATS)):
            if disk.get(key) is not None:
                item[key] = _choice(disk[key], allowed, "%s.%s" % (field, key))
        if disk.get("storage_domain") is not None:
            item["storage_domain"] = disk["storage_domain"]
        if disk.get("bootable") is not None:
            item["bootable"] = bool(disk["bootable"])
            boot += 1 if disk["bootable"] else 0
        out.append(item)
    if boot > 1:
        raise SpecError("disks", "only one disk can be bootable")
    return sorted(out, key=lambda x: x["name"])


def _cloud_init(ci):
    out = {}
    for key in ("hostname", "user_name", "timezone", "nic_name"):
        if ci.get(key) is not None:
            out[key] = ci[key]
    if ci.get("authorized_ssh_keys") is not None:
        keys = ci["authorized_ssh_keys"]
        if isinstance(keys, str):
            keys = [k for k in keys.splitlines() if k.strip()]
        for i, key in enumerate(keys):
            if not re.match(r"^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp\d+|sk-\S+) \S+", key.strip()):
                raise SpecError("cloud_init.authorized_ssh_keys[%d]" % i, "does not look like an OpenSSH public key")
        out["authorized_ssh_keys"] = [k.strip() for k in keys]
    if ci.get("dns_servers") is not None:
        out["dns_servers"] = [str(_ip(s, None, "cloud_init.dns_servers[%d]" % i))
                              for i, s in enumerate(ci["dns_servers"])]
    if ci.get("dns_search") is not None:
        out["dns_search"] = list(ci["dns_search"])
    for version in (4, 6):
        key = "ipv%d" % version
        spec = ci.get(key)
        if not spec:
            continue
        field = "cloud_init.%s" % key
        net = _ip_with_prefix(spec.get("address"), version, field + ".address")
        item = {"address": str(net.ip), "prefix": net.prefixlen}
        if spec.get("gateway") is not None:
            gw = _ip(spec["gateway"], version, field + ".gateway")
            if gw not in net:
                raise SpecError(field + ".gateway", "%s is not in the subnet %s" % (gw, net.cidr))
            if gw == net.ip:
                raise SpecError(field + ".gateway", "%s is the VM's own address" % gw)
            item["gateway"] = str(gw)
        out[key] = item
    return out


def current_from_vm(vm, tags=None, profiles=None, nics=None, disk_attachments=None, storage_domains=None):
    """Reduce an SDK ``Vm`` (fetched with ``follow``) to the shape of :func:`desired_from_params`.

    ``profiles`` maps vnic profile id -> (profile name, network name) for NICs whose profile was not
    embedded; ``storage_domains`` maps storage domain id -> name (a disk names its domains by id only).
    """
    cur = {
        "description": vm.description or "",
        "comment": vm.comment or "",
        "os_type": vm.os.type if vm.os is not None else None,
        "type": vm.type.value if vm.type is not None else None,
        "memory": vm.memory,
        "memory_guaranteed": vm.memory_policy.guaranteed if vm.memory_policy is not None else None,
        "memory_max": vm.memory_policy.max if vm.memory_policy is not None else None,
    }
    topo = vm.cpu.topology if vm.cpu is not None and vm.cpu.topology is not None else None
    cur["cpu_sockets"] = topo.sockets if topo else None
    cur["cpu_cores"] = topo.cores if topo else None
    cur["cpu_threads"] = topo.threads if topo else None
    ha = vm.high_availability
    cur["high_availability"] = bool(ha.enabled) if ha is not None else False
    cur["high_availability_priority"] = ha.priority if ha is not None else 0
    cur["tags"] = sorted(t.name for t in (tags if tags is not None else (vm.tags or [])))
    cur_nics = []
    for nic in (nics if nics is not None else (vm.nics or [])):
        item = {"name": nic.name, "interface": nic.interface.value if nic.interface is not None else None,
                "mac": nic.mac.address.lower() if nic.mac is not None and nic.mac.address else None}
        prof = nic.vnic_profile
        if prof is not None:
            name = getattr(prof, "name", None)
            net = prof.network.name if getattr(prof, "network", None) is not None and prof.network.name else None
            if name is None and profiles and prof.id in profiles:
                name, net = profiles[prof.id]
            item["profile"] = name
            item["network"] = net
        else:
            item["profile"] = None
            item["network"] = None
        cur_nics.append(item)
    cur["nics"] = sorted(cur_nics, key=lambda n: n["name"])
    cur_disks = []
    for att in (disk_attachments if disk_attachments is not None else (vm.disk_attachments or [])):
        disk = att.disk
        item = {"name": disk.alias or disk.name, "size": disk.provisioned_size,
                "interface": att.interface.value if att.interface is not None else None,
                "format": disk.format.value if disk.format is not None else None,
                "bootable": bool(att.bootable), "id": disk.id,
                "storage_domain": None}
        if disk.storage_domains:
            sd = disk.storage_domains[0]
            item["storage_domain"] = getattr(sd, "name", None) or (storage_domains or {}).get(sd.id, sd.id)
        cur_disks.append(item)
    cur["disks"] = sorted(cur_disks, key=lambda x: x["name"] or "")
    init = vm.initialization
    ci = {}
    if init is not None:
        for key, attr in (("hostname", "host_name"), ("user_name", "user_name"), ("timezone", "timezone")):
            if getattr(init, attr, None):
                ci[key] = getattr(init, attr)
        if init.authorized_ssh_keys:
            ci["authorized_ssh_keys"] = [k.strip() for k in init.authorized_ssh_keys.splitlines() if k.strip()]
        if init.dns_servers:
            ci["dns_servers"] = init.dns_servers.split()
        if init.dns_search:
            ci["dns_search"] = init.dns_search.split()
        for nc in init.nic_configurations or []:
            if nc.name:
                ci["nic_name"] = nc.name
            if nc.ip is not None and nc.ip.address:
                ci["ipv4"] = _ip_conf(nc.ip)
            if nc.ipv6 is not None and nc.ipv6.address:
                ci["ipv6"] = _ip_conf(nc.ipv6)
    cur["cloud_init"] = ci
    return cur


def _ip_conf(ip):
    item = {"address": ip.address}
    if ip.netmask:
        item["prefix"] = _prefix(ip.netmask)
    if ip.gateway:
        item["gateway"] = ip.gateway
    return item


def _prefix(netmask):
    if str(netmask).isdigit():
        return int(netmask)
    if HAS_NETADDR:
        return netaddr.IPAddress(netmask).netmask_bits()
    return netmask


def compare(desired, current):
    """Return ``{field: (current, desired)}`` for every field whose desired value differs.

    Lists of NICs and disks are compared item by item on the keys the user gave; items the user did not
    list are left alone (the module never removes a NIC or disk it was not told about).
    """
    changes = {}
    for key, want in desired.items():
        have = current.get(key)
        if key in ("nics", "disks"):
            by_name = dict((i["name"], i) for i in have or [])
            for item in want:
                cur = by_name.get(item["name"])
                if cur is None:
                    changes.setdefault(key, {})[item["name"]] = (None, item)
                    continue
                diff = dict((k, v) for k, v in item.items() if k != "name" and _differs(k, cur.get(k), v))
                if diff:
                    changes.setdefault(key, {})[item["name"]] = (cur, diff)
        elif key == "cloud_init":
            sub = dict((k, v) for k, v in want.items() if have.get(k) != v)
            if sub:
                changes[key] = (have, want)
        elif have != want:
            changes[key] = (have, want)
    return changes


def _differs(key, have, want):
    if key == "size":
        return have is None or have < want   # disks only grow; smaller is checked separately
    return have != want


def shrinking_disks(desired, current):
    by_name = dict((i["name"], i) for i in current.get("disks") or [])
    out = []
    for item in desired.get("disks") or []:
        cur = by_name.get(item["name"])
        if cur is not None and item.get("size") is not None and cur.get("size") and item["size"] < cur["size"]:
            out.append((item["name"], cur["size"], item["size"]))
    return out


def diff_view(desired, current, changes):
    """before/after dicts for ``--diff`` holding only what changes (never secrets)."""
    before, after = {}, {}
    for key in changes:
        if key in ("nics", "disks"):
            b, a = [], []
            for name, (cur, want) in sorted(changes[key].items()):
                b.append(_public(cur) if cur else None)
                merged = dict(_public(cur) or {}) if cur else {}
                merged.update(want)
                a.append(merged)
            before[key], after[key] = [x for x in b if x], a
        else:
            before[key], after[key] = current.get(key), desired.get(key)
    return before, after


def _public(item):
    if item is None:
        return None
    return dict((k, v) for k, v in item.items() if k != "id")
