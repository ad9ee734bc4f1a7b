#!/usr/bin/env python
# SPDX-License-Identifier: GPL-3.0-or-later
"""Search VMs with the Engine's search language."""

from _connection import connect

connection = connect()
vms_service = connection.system_service().vms_service()

# Names starting with "my", case-insensitively:
for vm in vms_service.list(search='name=my*', case_sensitive=False):
    print("%s: %s" % (vm.name, vm.status))

# VMs that are up, in cluster Default, sorted by name:
for vm in vms_service.list(search='status=up and cluster=Default sortby name asc'):
    print("up: %s" % vm.name)

connection.close()
