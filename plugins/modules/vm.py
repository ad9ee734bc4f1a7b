#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vm
short_description: Create, configure, start, stop and remove oVirt virtual machines, exactly
version_added: 0.1.0
description:
  - Drives one VM to a declared configuration and power state through the Engine's REST API.
  - Exact and idempotent. Only the options you set are compared; a second run with the same options reports
    C(changed=false) and sends no POST, PUT or DELETE, including with O(cloud_init).
  - In check mode nothing is changed and nothing is waited for; C(--diff) shows what would change.
  - Bad input (sizes, MAC and IP addresses, duplicate NIC names, unknown template or cluster) fails before
    anything is created, naming the option.
  - NICs and disks are matched by name. The module adds and changes the NICs and disks you list and never
    removes one you did not list. Disks only grow.
  - Changes the Engine can only apply at the next boot of a running VM (CPU topology, OS type, lower
    memory) are stored as the VM's next-run configuration and reported in RV(next_run_pending).
author:
  - SRE oVirt team (@sre-ovirt)
requirements:
  - ovirt-engine-sdk-python >= 4.6
  - netaddr (for O(cloud_init) addresses)
extends_documentation_fragment:
  - sre.ovirt.engine
  - sre.ovirt.wait
  - sre.ovirt.slo_policy
  - sre.ovirt.attributes
options:
  name:
    description: Name of the VM; unique in the Engine.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the VM and leaves its power state alone.
      - V(running) also starts it and waits until it is C(up); RV(boot_seconds) is the time from the start
        request to C(up).
      - V(stopped) shuts it down gracefully (or powers it off with O(force)) and waits until it is C(down).
      - V(absent) powers it off if needed and removes it with its disks.
    type: str
    choices: [present, running, stopped, absent]
    default: present
  template:
    description: Template to create the VM from. Only used when the VM is created.
    type: str
    default: Blank
  cluster:
    description: Cluster of the VM. Required to create a VM.
    type: str
  description:
    description: Free-text description.
    type: str
  comment:
    description: Free-text comment.
    type: str
  memory:
    description:
      - Memory size with a unit, for example V(4GiB) or V(512MiB).
      - Every unit is binary, as in the Admin Portal and ansible-core's C(human_to_bytes) - V(4GB), V(4G), V(4g) and
        V(4 GiB) are all 4 GiB, V(4096MB) is V(4096MiB). A number without a unit is bytes (the API's unit), so it
        must be a whole number of MiB.
    type: str
  memory_guaranteed:
    description: Memory the host guarantees to the VM, with a unit. At most O(memory).
    type: str
  memory_max:
    description: Maximum memory the VM can be hot-plugged to, with a unit. At least O(memory).
    type: str
  cpu_sockets:
    description: Number of virtual CPU sockets.
    type: int
  cpu_cores:
    description: Cores per socket.
    type: int
  cpu_threads:
    description: Threads per core.
    type: int
  os_type:
    description: Operating system type as the Engine names it, for example V(rhel_9x64) or V(windows_2022).
    type: str
  type:
    description: Optimisation of the VM.
    type: str
    choices: [server, desktop, high_performance]
  high_availability:
    description: Restart the VM automatically when it or its host fails.
    type: bool
  high_availability_priority:
    description: Restart priority of a highly available VM, from 0 to 100 (higher restarts first).
    type: int
  tags:
    description:
      - Tags of the VM. Missing tags are created. With O(purge_tags=true) the VM ends with exactly these tags.
    type: list
    elements: str
  purge_tags:
    description: Remove tags the VM has that O(tags) does not list. Only used when O(tags) is set.
    type: bool
    default: true
  nics:
    description: Network interfaces, matched by name.
    type: list
    elements: dict
    suboptions:
      name:
        description: NIC name, for example V(nic1); unique within the VM.
        type: str
        required: true
      profile:
        description: vNIC profile name.
        type: str
      network:
        description: Network of the profile, when profile names repeat across networks.
        type: str
      interface:
        description: Emulated device.
        type: str
        choices: [virtio, e1000, e1000e, rtl8139, pci_passthrough, spapr_vlan]
      mac:
        description: Unicast MAC address; the Engine's pool assigns one when left out.
        type: str
  disks:
    description: Disks, matched by name (alias). Disks that come from the template can be listed to grow them.
    type: list
    elements: dict
    suboptions:
      name:
        description: Disk name (alias).
        type: str
        required: true
      size:
        description:
          - Size with a unit, for example V(20GiB) (V(20GB) is the same - every unit is binary, as for O(memory)).
          - Disks grow; a smaller size is an error.
        type: str
      storage_domain:
        description: Storage domain for a new disk. Required to add a disk.
        type: str
      interface:
        description: Disk interface.
        type: str
        choices: [virtio, virtio_scsi, sata, ide, spapr_vscsi]
        default: virtio_scsi
      format:
        description: V(cow) (thin, qcow2) or V(raw) for a new disk.
        type: str
        choices: [cow, raw]
        default: cow
      bootable:
        description: Boot from this disk.
        type: bool
  cloud_init:
    description:
      - cloud-init settings the VM gets at its first boot. They are compared on every run like any other
        option, so re-running with cloud-init reports no change.
      - O(cloud_init.user_password) is write-only (the Engine never returns it), so it is sent only when the
        VM is created.
    type: dict
    suboptions:
      hostname:
        description: Host name inside the guest.
        type: str
      user_name:
        description: User that gets the SSH keys and password.
        type: str
      user_password:
        description: Password of O(cloud_init.user_name). Only set when the VM is created.
        type: str
      authorized_ssh_keys:
        description: OpenSSH public keys for O(cloud_init.user_name).
        type: list
        elements: str
      timezone:
        description: Time zone, for example V(Etc/UTC).
        type: str
      dns_servers:
        description: DNS server addresses (IPv4 or IPv6).
        type: list
        elements: str
      dns_search:
        description: DNS search domains.
        type: list
        elements: str
      nic_name:
        description: Guest interface the addresses go on.
        type: str
        default: eth0
      ipv4:
        description: Static IPv4 configuration; DHCP when left out.
        type: dict
        suboptions:
          address:
            description: Address with prefix length, for example V(192.0.2.10/24).
            type: str
            required: true
          gateway:
            description: Default gateway; must be inside the address's subnet.
            type: str
      ipv6:
        description: Static IPv6 configuration.
        type: dict
        suboptions:
          address:
            description: Address with prefix length, for example V(2001:db8::10/64).
            type: str
            required: true
          gateway:
            description: Default gateway; must be inside the address's subnet.
            type: str
  force:
    description: With O(state=stopped), power off at once instead of a graceful shutdown.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: A web server from the template, running
  sre.ovirt.vm:
    name: web01
    template: centos9-template
    cluster: Default
    memory: 4GiB
    cpu_cores: 2
    nics:
      - name: nic1
        profile: ovirtmgmt
    disks:
      - name: data
        size: 50GiB
        storage_domain: data-nfs
    tags: [web]
    state: running

- name: A highly available database with cloud-init and a static address
  sre.ovirt.vm:
    name: db01
    template: centos9-template
    cluster: Default
    memory: 16GiB
    memory_guaranteed: 8GiB
    high_availability: true
    high_availability_priority: 80
    cloud_init:
      hostname: db01.example.com
      user_name: cloud
      authorized_ssh_keys: ["{{ lookup('file', '~/.ssh/id_ed25519.pub') }}"]
      dns_servers: [192.0.2.53]
      ipv4:
        address: 192.0.2.21/24
        gateway: 192.0.2.1
    state: running

- name: Shut it down
  sre.ovirt.vm:
    name: web01
    state: stopped

- name: Remove it
  sre.ovirt.vm:
    name: web01
    state: absent
"""

RETURN = r"""
vm:
  description: The VM after the task (in check mode, as it was). Empty when it is absent.
  returned: always
  type: dict
  contains:
    id:
      description: VM id.
      type: str
      sample: 3d1c1f4e-0f0e-4bd0-9ad2-6f3a1c1d2e3f
    name:
      description: VM name.
      type: str
    status:
      description: Status as the Engine reports it (C(up), C(down), C(image_locked)...).
      type: str
    host:
      description: Name of the host it runs on, when running.
      type: str
    memory:
      description: Memory in bytes.
      type: int
    high_availability:
      description: Whether HA is on, and its priority.
      type: dict
boot_seconds:
  description: Seconds from the start request to status C(up), when this task started the VM.
  returned: when the VM was started
  type: float
  sample: 21.4
next_run_pending:
  description: The running VM has configuration changes that take effect at its next boot.
  returned: always
  type: bool
changes:
  description: The options that differed, with what they were and what they became.
  returned: always
  type: dict
engine_requests:
  description: Number of HTTP requests this task sent to the Engine (retries included).
  returned: always
  type: int
"""

import time

from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule
from ansible_collections.sre.ovirt.plugins.module_utils.client.errors import (
    EngineConflict, EngineError, EngineNotFound, EngineRequestUncertain)
from ansible_collections.sre.ovirt.plugins.module_utils.client.search import where
from ansible_collections.sre.ovirt.plugins.module_utils.client.wait import wait_for
from ansible_collections.sre.ovirt.plugins.module_utils.model.vm_status import RUNNING, STARTING
from ansible_collections.sre.ovirt.plugins.module_utils.vm import spec

try:
    from ovirtsdk4 import types as otypes
except ImportError:  # pragma: no cover - EngineModule reports the missing SDK
    otypes = None

FOLLOW = "nics.vnic_profile.network,disk_attachments.disk,tags,host"


def unlocked_statuses():
    """Every VM status but image_locked (the Engine's lock while a VM is created or its disks change)."""
    return tuple(s.value for s in otypes.VmStatus if s.value != "image_locked")


_NIC = dict(name=dict(type="str", required=True), profile=dict(type="str"), network=dict(type="str"),
            interface=dict(type="str", choices=list(spec.NIC_INTERFACES)), mac=dict(type="str"))
_DISK = dict(name=dict(type="str", required=True), size=dict(type="str"), storage_domain=dict(type="str"),
             interface=dict(type="str", choices=list(spec.DISK_INTERFACES), default="virtio_scsi"),
             format=dict(type="str", choices=list(spec.DISK_FORMATS), default="cow"), bootable=dict(type="bool"))
_IP = dict(address=dict(type="str", required=True), gateway=dict(type="str"))
_CLOUD_INIT = dict(hostname=dict(type="str"), user_name=dict(type="str"), user_password=dict(type="str", no_log=True),
                   authorized_ssh_keys=dict(type="list", elements="str", no_log=False), timezone=dict(type="str"),
                   dns_servers=dict(type="list", elements="str"), dns_search=dict(type="list", elements="str"),
                   nic_name=dict(type="str", default="eth0"),
                   ipv4=dict(type="dict", options=_IP), ipv6=dict(type="dict", options=_IP))
ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "running", "stopped", "absent"]),
    template=dict(type="str", default="Blank"), cluster=dict(type="str"),
    description=dict(type="str"), comment=dict(type="str"),
    memory=dict(type="str"), memory_guaranteed=dict(type="str"), memory_max=dict(type="str"),
    cpu_sockets=dict(type="int"), cpu_cores=dict(type="int"), cpu_threads=dict(type="int"),
    os_type=dict(type="str"), type=dict(type="str", choices=list(spec.VM_TYPES)),
    high_availability=dict(type="bool"), high_availability_priority=dict(type="int"),
    tags=dict(type="list", elements="str"), purge_tags=dict(type="bool", default=True),
    nics=dict(type="list", elements="dict", options=_NIC),
    disks=dict(type="list", elements="dict", options=_DISK),
    cloud_init=dict(type="dict", options=_CLOUD_INIT),
    force=dict(type="bool", default=False),
)


class VmTask:
    """One run of the module: read once, compare, change what differs, wait only for what was done."""

    def __init__(self, module, desired):
        self.module = module
        self.p = module.params
        self.desired = desired
        self.check = module.check_mode
        self.system = module.client.system_service()
        self.vms = self.system.vms_service()
        self.changes = {}
        self.result = {"changed": False, "next_run_pending": False}

    # -- reading ------------------------------------------------------------------------------
    def find(self, follow=FOLLOW):
        found = self.vms.list(search=where("name", self.p["name"]), follow=follow,
                              case_sensitive=True)
        found = [v for v in found if v.name == self.p["name"]]
        return found[0] if found else None

    def get(self, vm_id, follow=FOLLOW):
        return self.vms.vm_service(vm_id).get(follow=follow)

    def wait_status(self, vm_id, wanted, failed=(), what="", follow=FOLLOW, immediate=False):
        """Poll until the VM's status is in ``wanted``; fail at once on ``failed`` statuses."""
        holder = {}

        def fetch():
            holder["vm"] = self.get(vm_id, follow)
            return holder["vm"]

        wait_for(fetch,
                 done=lambda vm: vm is not None and vm.status.value in wanted,
                 failed=(lambda vm: vm is not None and vm.status.value in failed) if failed else None,
                 timeout=self.p["timeout"], interval=self.p["poll_interval"],
                 describe=lambda vm: "VM %s is %s" % (self.p["name"], vm.status.value if vm else "gone"),
                 what=what or "VM %s to be %s" % (self.p["name"], "/".join(wanted)),
                 check_mode=self.check, immediate=immediate,
                 latest_error=lambda: self.module.latest_error_event(vm_id=vm_id))
        return holder["vm"]

    # -- the run --------------------------------------------------------------------------------
    def run(self):
        vm = self.find()
        state = self.p["state"]
        if state == "absent":
            return self.absent(vm)
        if vm is None:
            vm = self.create()
            if vm is None:        # check mode
                return self.finish(None)
        else:
            vm = self.update(vm)
        if state == "running":
            vm = self.ensure_running(vm)
        elif state == "stopped":
            vm = self.ensure_stopped(vm)
        elif state == "present" and vm is not None and vm.status.value == "image_locked" and \
                self.p["wait"] and not self.check:
            vm = self.wait_status(vm.id, unlocked_statuses())
        return self.finish(vm)

    def finish(self, vm):
        r = self.result
        r["changes"] = self.changes
        r["vm"] = self.summary(vm) if vm is not None else {}
        return r

    def summary(self, vm):
        host = None
        if vm.host is not None:
            host = getattr(vm.host, "name", None) or vm.host.id
        ha = vm.high_availability
        return {"id": vm.id, "name": vm.name, "status": vm.status.value if vm.status else None, "host": host,
                "memory": vm.memory, "cluster": vm.cluster.id if vm.cluster else None,
                "high_availability": {"enabled": bool(ha and ha.enabled), "priority": ha.priority if ha else 0}}

    def changed(self, key, before, after):
        self.result["changed"] = True
        self.changes[key] = {"before": before, "after": after}

    # -- create ---------------------------------------------------------------------------------
    def create(self):
        if not self.p["cluster"]:
            self.module.fail_json(msg="cluster: required to create VM %s (it does not exist yet)" % self.p["name"],
                                  field="cluster")
        d = self.desired
        self.changed("state", "absent", self.p["state"])
        self.module.diff["before"] = {"state": "absent"}
        self.module.diff["after"] = dict(d, name=self.p["name"], template=self.p["template"],
                                         cluster=self.p["cluster"], state=self.p["state"])
        self.module.diff["after"].pop("cloud_init", None)
        if self.check:
            return None
        vm = otypes.Vm(name=self.p["name"], cluster=otypes.Cluster(name=self.p["cluster"]),
                       template=otypes.Template(name=self.p["template"]))
        self.apply_fields(vm, d, creating=True)
        try:
            created = self.module.client.create(lambda: self.vms.add(vm), lambda: self.find(follow=None),
                                                "VM %s" % self.p["name"])
        except EngineNotFound as exc:
            text = str(exc)
            field = "template" if "Template" in text else "cluster" if "Cluster" in text else None
            if field:
                service = self.system.templates_service() if field == "template" else self.system.clusters_service()
                known = sorted(o.name for o in service.list())
                self.module.fail_json(msg="%s: there is no %s named '%s'; the Engine has: %s" % (
                    field, field, self.p[field], ", ".join(known)), field=field)
            raise
        vm = created
        if self.p["wait"] or self.p["state"] in ("running", "stopped") or d.get("nics") or d.get("disks") \
                or d.get("tags"):
            # Unlocked, not necessarily down: a concurrent run that created the same VM may have started it.
            vm = self.wait_status(created.id, unlocked_statuses(), what="VM %s to be created" % self.p["name"])
        current = spec.current_from_vm(vm, storage_domains=self.storage_domain_names())
        self.apply_nics(vm, current, creating=True)
        self.apply_disks(vm, current, creating=True)
        self.apply_tags(vm, current)
        return vm

    def apply_fields(self, vm, d, creating=False):
        """Set on ``vm`` (an SDK Vm to send) every desired VM-level field."""
        if "description" in d:
            vm.description = d["description"]
        if "comment" in d:
            vm.comment = d["comment"]
        if "memory" in d:
            vm.memory = d["memory"]
        if any(k in d for k in ("memory_guaranteed", "memory_max")):
            vm.memory_policy = otypes.MemoryPolicy(guaranteed=d.get("memory_guaranteed"), max=d.get("memory_max"))
        elif "memory" in d and creating:
            vm.memory_policy = otypes.MemoryPolicy(max=max(d["memory"] * 4, d["memory"]))
        if any(k in d for k in ("cpu_sockets", "cpu_cores", "cpu_threads")):
            vm.cpu = otypes.Cpu(topology=otypes.CpuTopology(sockets=d.get("cpu_sockets"), cores=d.get("cpu_cores"),
                                                            threads=d.get("cpu_threads")))
        if "os_type" in d:
            vm.os = otypes.OperatingSystem(type=d["os_type"])
        if "type" in d:
            vm.type = otypes.VmType(d["type"])
        if "high_availability" in d or "high_availability_priority" in d:
            vm.high_availability = otypes.HighAvailability(enabled=d.get("high_availability"),
                                                           priority=d.get("high_availability_priority"))
        if "cloud_init" in d:
            vm.initialization = self.initialization(d["cloud_init"], creating)

    def initialization(self, ci, creating):
        init = otypes.Initialization(host_name=ci.get("hostname"), user_name=ci.get("user_name"),
                                     timezone=ci.get("timezone"))
        if ci.get("authorized_ssh_keys"):
            init.authorized_ssh_keys = "\n".join(ci["authorized_ssh_keys"])
        if ci.get("dns_servers"):
            init.dns_servers = " ".join(ci["dns_servers"])
        if ci.get("dns_search"):
            init.dns_search = " ".join(ci["dns_search"])
        password = (self.p.get("cloud_init") or {}).get("user_password")
        if creating and password:
            init.root_password = password
        if ci.get("ipv4") or ci.get("ipv6"):
            nc = otypes.NicConfiguration(name=ci.get("nic_name", "eth0"), on_boot=True)
            if ci.get("ipv4"):
                v4 = ci["ipv4"]
                nc.boot_protocol = otypes.BootProtocol.STATIC
                nc.ip = otypes.Ip(address=v4["address"], netmask=str(v4["prefix"]), gateway=v4.get("gateway"),
                                  version=otypes.IpVersion.V4)
            if ci.get("ipv6"):
                v6 = ci["ipv6"]
                nc.ipv6_boot_protocol = otypes.BootProtocol.STATIC
                nc.ipv6 = otypes.Ip(address=v6["address"], netmask=str(v6["prefix"]), gateway=v6.get("gateway"),
                                    version=otypes.IpVersion.V6)
            init.nic_configurations = [nc]
        return init

    # -- update ---------------------------------------------------------------------------------
    def update(self, vm):
        current = spec.current_from_vm(vm, storage_domains=self.storage_domain_names())
        shrink = spec.shrinking_disks(self.desired, current)
        if shrink:
            name, have, want = shrink[0]
            self.module.fail_json(msg="disks: disk %s is %d bytes; it cannot shrink to %d bytes" % (name, have, want),
                                  field="disks")
        changes = spec.compare(self.desired, current)
        if not changes:
            return vm
        before, after = spec.diff_view(self.desired, current, changes)
        self.module.diff["before"].update(before)
        self.module.diff["after"].update(after)
        vm_fields = dict((k, v) for k, v in self.desired.items() if k in changes and k not in ("nics", "disks", "tags"))
        for key in changes:
            if key not in ("nics", "disks"):
                self.changed(key, before.get(key), after.get(key))
        if vm_fields:
            if self.check:
                pass
            else:
                body = otypes.Vm()
                self.apply_fields(body, vm_fields)
                updated = self.vms.vm_service(vm.id).update(body)
                if updated.next_run_configuration_exists:
                    self.result["next_run_pending"] = True
        self.apply_nics(vm, current)
        self.apply_disks(vm, current)
        if "tags" in changes:
            self.apply_tags(vm, current)
        if not self.check and (vm_fields or "nics" in changes or "disks" in changes or "tags" in changes):
            vm = self.get(vm.id)
        return vm

    def storage_domain_names(self):
        """Storage domain id -> name, read once and only when disks name a storage domain."""
        if not any(d.get("storage_domain") for d in self.desired.get("disks") or []):
            return {}
        if not hasattr(self, "_sd_names"):
            self._sd_names = dict((sd.id, sd.name) for sd in self.system.storage_domains_service().list())
        return self._sd_names

    def profile_ids(self):
        if not hasattr(self, "_profiles"):
            self._profiles = [(p.id, p.name, p.network.name if p.network is not None else None)
                              for p in self.system.vnic_profiles_service().list(follow="network")]
        return self._profiles

    def profile_id(self, nic, index):
        matches = [pid for pid, name, net in self.profile_ids()
                   if name == nic["profile"] and (nic.get("network") is None or net == nic["network"])]
        if len(matches) != 1:
            self.module.fail_json(msg="nics[%d].profile: %s vNIC profile '%s'%s" % (
                index, "no" if not matches else "more than one", nic["profile"],
                "" if matches else "; known profiles: %s" % ", ".join(sorted(set(
                    "%s (network %s)" % (n, net) for dummy, n, net in self.profile_ids())))),
                field="nics[%d].profile" % index)
        return matches[0]

    def apply_nics(self, vm, current, creating=False):
        wanted = self.desired.get("nics")
        if not wanted:
            return
        changes = spec.compare({"nics": wanted}, current).get("nics", {})
        if not changes:
            return
        if creating is False:
            for name, (cur, diff) in changes.items():
                self.changed("nics.%s" % name, spec._public(cur), diff)
        else:
            self.result["changed"] = True
        if self.check:
            return
        nics_service = self.vms.vm_service(vm.id).nics_service()
        by_name = dict((n.name, n) for n in (vm.nics or []))
        for index, nic in enumerate(wanted):
            if nic["name"] not in changes:
                continue
            body = otypes.Nic(name=nic["name"])
            if nic.get("interface"):
                body.interface = otypes.NicInterface(nic["interface"])
            if nic.get("mac"):
                body.mac = otypes.Mac(address=nic["mac"])
            if nic.get("profile"):
                body.vnic_profile = otypes.VnicProfile(id=self.profile_id(nic, index))
            existing = by_name.get(nic["name"])
            if existing is None:
                self.module.client.create(
                    lambda body=body: nics_service.add(body),
                    lambda body=body: next((n for n in nics_service.list() if n.name == body.name), None),
                    "NIC %s of VM %s" % (body.name, self.p["name"]))
            else:
                nics_service.nic_service(existing.id).update(body)

    def apply_disks(self, vm, current, creating=False):
        wanted = self.desired.get("disks")
        if not wanted:
            return
        changes = spec.compare({"disks": wanted}, current).get("disks", {})
        if not changes:
            return
        for name, (cur, diff) in changes.items():
            if cur is None and not diff.get("storage_domain"):
                self.module.fail_json(msg="disks: new disk %s needs storage_domain and size" % name, field="disks")
            if cur is None and not diff.get("size"):
                self.module.fail_json(msg="disks: new disk %s needs a size" % name, field="disks")
            if not creating:
                self.changed("disks.%s" % name, spec._public(cur), diff)
            else:
                self.result["changed"] = True
        if self.check:
            return
        vm_service = self.vms.vm_service(vm.id)
        atts = vm_service.disk_attachments_service()
        for name, (cur, diff) in sorted(changes.items()):
            if cur is None:
                self.module.client.create(
                    lambda name=name, diff=diff: atts.add(self.new_attachment(name, diff)),
                    lambda name=name: next((a for a in atts.list(follow="disk") if a.disk.alias == name), None),
                    "disk %s of VM %s" % (name, self.p["name"]))
                continue
            body = otypes.DiskAttachment()
            if "interface" in diff:
                body.interface = otypes.DiskInterface(diff["interface"])
            if "bootable" in diff:
                body.bootable = diff["bootable"]
            if "size" in diff:
                body.disk = otypes.Disk(provisioned_size=diff["size"])
            atts.attachment_service(cur["id"]).update(body)

    @staticmethod
    def new_attachment(name, diff):
        fmt = diff.get("format") or "cow"
        return otypes.DiskAttachment(
            interface=otypes.DiskInterface(diff.get("interface") or "virtio_scsi"),
            bootable=bool(diff.get("bootable")), active=True,
            disk=otypes.Disk(name=name, alias=name, provisioned_size=diff["size"], format=otypes.DiskFormat(fmt),
                             sparse=fmt == "cow", storage_domains=[otypes.StorageDomain(name=diff["storage_domain"])]))

    def apply_tags(self, vm, current):
        if "tags" not in self.desired:
            return
        want, have = set(self.desired["tags"]), set(current.get("tags") or [])
        add = sorted(want - have)
        remove = sorted(have - want) if self.p["purge_tags"] else []
        if not add and not remove:
            return
        self.result["changed"] = True
        self.changes["tags"] = {"before": sorted(have), "after": sorted((have | want) - set(remove))}
        if self.check:
            return
        tags_service = self.vms.vm_service(vm.id).tags_service()
        for name in add:
            try:
                tags_service.add(otypes.Tag(name=name))
            except EngineNotFound:
                self.system.tags_service().add(otypes.Tag(name=name))
                tags_service.add(otypes.Tag(name=name))
        if remove:
            for tag in tags_service.list():
                if tag.name in remove:
                    tags_service.tag_service(tag.id).remove()

    # -- power ----------------------------------------------------------------------------------
    def ensure_running(self, vm):
        if vm is None:
            return None
        status = vm.status.value
        if status == "up":
            return vm
        if status in STARTING:
            return vm if self.check or not self.p["wait"] else self.wait_status(vm.id, ("up",), ("down",),
                                                                                immediate=True)
        if status == "image_locked" and not self.check:
            vm = self.wait_status(vm.id, unlocked_statuses())
            if vm.status.value in RUNNING:      # someone else (a concurrent run) started it meanwhile
                return self.ensure_running(vm)
            status = vm.status.value
        self.changed("status", status, "up")
        if self.check:
            return vm
        started = time.time()
        service = self.vms.vm_service(vm.id)
        first_boot = vm.start_time is None and "cloud_init" in self.desired
        try:
            service.start(use_cloud_init=True if first_boot else None)
        except EngineRequestUncertain:
            # The connection dropped after the request went out: the Engine may have started the VM.
            # Look before sending it again, so the VM is never started twice.
            again = self.get(vm.id)
            if again.status.value not in RUNNING:
                service.start(use_cloud_init=True if first_boot else None)
        except EngineConflict:
            # libcurl resends a request on its own when a reused connection dies without an answer; the
            # Engine then refuses the copy ("VM is running"). The VM starting is the outcome we wanted.
            if self.get(vm.id).status.value not in RUNNING:
                raise
        if not self.p["wait"]:
            return self.get(vm.id)
        vm = self.wait_status(vm.id, ("up",), ("down",), what="VM %s to boot" % self.p["name"])
        self.result["boot_seconds"] = round(time.time() - started, 3)
        self.module.record("vm_boot_seconds", self.result["boot_seconds"], subject=self.p["name"])
        return vm

    def ensure_stopped(self, vm):
        if vm is None:
            return None
        status = vm.status.value
        if status == "down":
            return vm
        if status == "image_locked":
            return vm if self.check or not self.p["wait"] else self.wait_status(vm.id, ("down",))
        self.changed("status", status, "down")
        if self.check:
            return vm
        service = self.vms.vm_service(vm.id)
        try:
            if self.p["force"] or status in ("suspended", "paused", "not_responding", "unknown"):
                service.stop()
            else:
                service.shutdown()
        except EngineRequestUncertain:
            pass      # the wait below tells whether it happened
        return self.wait_status(vm.id, ("down",)) if self.p["wait"] else self.get(vm.id)

    def absent(self, vm):
        if vm is None:
            return self.finish(None)
        self.changed("state", vm.status.value, "absent")
        self.module.diff["before"] = {"name": vm.name, "status": vm.status.value}
        self.module.diff["after"] = {"state": "absent"}
        if self.check:
            return self.finish(vm)
        service = self.vms.vm_service(vm.id)
        if vm.status.value in RUNNING or vm.status.value == "suspended":
            service.stop()
            self.wait_status(vm.id, ("down",))
        elif vm.status.value == "image_locked":
            self.wait_status(vm.id, ("down",))
        service.remove()
        if self.p["wait"]:
            wait_for(lambda: self._maybe_get(vm.id), done=lambda v: v is None, gone_ok=True,
                     timeout=self.p["timeout"], interval=self.p["poll_interval"],
                     describe=lambda v: "VM %s is %s" % (vm.name, v.status.value if v else "gone"),
                     what="VM %s to be removed" % vm.name, check_mode=self.check)
        return self.finish(None)

    def _maybe_get(self, vm_id):
        try:
            return self.vms.vm_service(vm_id).get()
        except EngineNotFound:
            return None


def main():
    module = EngineModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        desired = spec.desired_from_params(module.params)
    except spec.SpecError as exc:
        module.fail_json(msg=str(exc), field=exc.field)
    try:
        result = VmTask(module, desired).run()
    except EngineError as exc:
        module.fail_from(exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
