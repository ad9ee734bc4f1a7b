#!/usr/bin/env python
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read every VM, one page at a time."""

from _connection import connect

connection = connect()
vms_service = connection.system_service().vms_service()

page_size = 2
page = 1
total = 0
while True:
    vms = vms_service.list(search='sortby name asc page %d' % page, max=page_size)
    if not vms:
        break
    for vm in vms:
        print("page %d: %s" % (page, vm.name))
    total += len(vms)
    page += 1
print("total: %d" % total)

connection.close()
