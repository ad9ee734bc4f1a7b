#!/usr/bin/env python
# SPDX-License-Identifier: GPL-3.0-or-later
"""Take a snapshot of ``myvm`` and wait until it is ready."""

import sys
import time

from ovirtsdk4 import types

from _connection import connect

connection = connect()
vms_service = connection.system_service().vms_service()
vm = vms_service.list(search='name=myvm')[0]

snapshots_service = vms_service.vm_service(vm.id).snapshots_service()
snapshot = snapshots_service.add(
    types.Snapshot(
        description='My snapshot',
        persist_memorystate=False,
    ),
)

# The snapshot is locked until its volumes are created:
snapshot_service = snapshots_service.snapshot_service(snapshot.id)
deadline = time.time() + 60
while snapshot_service.get().snapshot_status != types.SnapshotStatus.OK:
    if time.time() > deadline:
        sys.exit("the snapshot is still %s" % snapshot_service.get().snapshot_status)
    time.sleep(0.2)
print("Snapshot '%s' of %s is ready" % (snapshot.description, vm.name))

connection.close()
