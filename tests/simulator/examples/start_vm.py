#!/usr/bin/env python
# SPDX-License-Identifier: GPL-3.0-or-later
"""Start ``myvm`` and wait until it is up."""

import sys
import time

from ovirtsdk4 import types

from _connection import connect

connection = connect()
vms_service = connection.system_service().vms_service()

# Find the VM by name and get the service that manages it:
vm = vms_service.list(search='name=myvm')[0]
vm_service = vms_service.vm_service(vm.id)

# A new VM is locked while its disks are copied; wait until it is down before starting it.
deadline = time.time() + 60
while vm_service.get().status != types.VmStatus.DOWN:
    if time.time() > deadline:
        sys.exit("myvm did not become down")
    time.sleep(0.2)

vm_service.start()

# Poll until the VM is up:
while True:
    time.sleep(0.2)
    vm = vm_service.get()
    if vm.status == types.VmStatus.UP:
        break
    if time.time() > deadline:
        sys.exit("myvm is %s, not up" % vm.status)
print("VM %s is up on host %s" % (vm.name, connection.follow_link(vm.host).name))

connection.close()
