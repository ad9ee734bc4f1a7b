# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a restore point keeps of a VM's configuration, and how a restore recreates the VM from it.

Two forms are kept: the Engine's own OVF (``GET /vms/{id}?all_content=true``), which recreates the VM with its
identity (id, NICs with their MACs) when the original is gone; and a summary (memory, CPUs, OS, NICs and their
vNIC profiles), which creates a copy next to a VM that still exists - the OVF would bind the copy to the
original's ids."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    from ovirtsdk4 import types
except ImportError:  # pragma: no cover
    types = None


def _value(x):
    return x.value if x is not None and hasattr(x, "value") else x


def vm_configuration(vms_service, vm_id):
    vm_service = vms_service.vm_service(vm_id)
    full = vm_service.get(all_content=True)
    ovf = None
    init = full.initialization
    if init is not None and init.configuration is not None:
        ovf = init.configuration.data
    topo = full.cpu.topology if full.cpu is not None else None
    nics = []
    for nic in vm_service.nics_service().list():
        nics.append(dict(name=nic.name, interface=_value(nic.interface),
                         vnic_profile=nic.vnic_profile.id if nic.vnic_profile is not None else None,
                         mac=nic.mac.address if nic.mac is not None else None))
    return dict(
        ovf=ovf,
        vm=dict(name=full.name, description=full.description, memory=full.memory,
                memory_guaranteed=full.memory_policy.guaranteed if full.memory_policy else None,
                cpu=dict(sockets=topo.sockets, cores=topo.cores, threads=topo.threads) if topo else None,
                os=full.os.type if full.os is not None else None, type=_value(full.type),
                high_availability=bool(full.high_availability and full.high_availability.enabled),
                cluster=full.cluster.id if full.cluster is not None else None),
        nics=nics)


def vm_from_summary(config, name, cluster):
    """A VM spec for ``POST /vms`` (on the Blank template) from the summary: a copy with new ids and MACs."""
    vm = config["vm"]
    spec = types.Vm(name=name, cluster=cluster, template=types.Template(name="Blank"),
                    description=vm.get("description") or None, memory=vm.get("memory"))
    if vm.get("memory_guaranteed"):
        spec.memory_policy = types.MemoryPolicy(guaranteed=vm["memory_guaranteed"])
    if vm.get("cpu"):
        spec.cpu = types.Cpu(topology=types.CpuTopology(**vm["cpu"]))
    if vm.get("os"):
        spec.os = types.OperatingSystem(type=vm["os"])
    if vm.get("type"):
        spec.type = types.VmType(vm["type"])
    return spec


def vm_from_ovf(config, name, cluster):
    """A VM spec that recreates the VM from its OVF (its id, NICs and MACs), renamed to ``name``."""
    return types.Vm(name=name, cluster=cluster, initialization=types.Initialization(
        configuration=types.Configuration(type=types.ConfigurationType.OVF, data=config["ovf"])))
