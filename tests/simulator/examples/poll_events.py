#!/usr/bin/env python
# SPDX-License-Identifier: GPL-3.0-or-later
"""Remember the newest event, stop ``myvm``, then poll for the events that follow."""

import sys
import time

from _connection import connect

connection = connect()
system_service = connection.system_service()
events_service = system_service.events_service()

# The newest event is the first one returned with max=1:
last_event_id = int(events_service.list(max=1)[0].id)

vms_service = system_service.vms_service()
vm = vms_service.list(search='name=myvm')[0]
vms_service.vm_service(vm.id).stop()

deadline = time.time() + 60
seen = 0
while seen == 0:
    if time.time() > deadline:
        sys.exit("no event after %d" % last_event_id)
    for event in sorted(events_service.list(from_=last_event_id), key=lambda e: int(e.id)):
        print("%s %s %s" % (event.id, event.code, event.description))
        last_event_id = max(last_event_id, int(event.id))
        seen += 1
    time.sleep(0.2)

connection.close()
