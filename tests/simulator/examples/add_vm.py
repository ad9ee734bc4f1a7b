#!/usr/bin/env python
# SPDX-License-Identifier: GPL-3.0-or-later
"""Add a VM named ``myvm`` to cluster ``Default`` from the template ``centos9-template``."""

from ovirtsdk4 import types

from _connection import connect

connection = connect()

# The service that manages the VMs of the system:
vms_service = connection.system_service().vms_service()

# Add the VM: the template's disks are copied, so the VM starts locked and becomes down when that is done.
vm = vms_service.add(
    types.Vm(
        name='myvm',
        cluster=types.Cluster(name='Default'),
        template=types.Template(name='centos9-template'),
        memory=2 * 2**30,
    ),
)
print("Added VM %s (id %s), status %s" % (vm.name, vm.id, vm.status))

connection.close()
