#!/usr/bin/env python
# SPDX-License-Identifier: GPL-3.0-or-later
"""Add an IPMI fence agent to ``host01`` and list the host's agents."""

from ovirtsdk4 import types

from _connection import connect

connection = connect()
hosts_service = connection.system_service().hosts_service()
host = hosts_service.list(search='name=host01')[0]

agents_service = hosts_service.host_service(host.id).fence_agents_service()
agents_service.add(
    types.Agent(
        address='bmc-host01.example.test',
        type='ipmilan',
        username='admin',
        password='calvin',
        order=1,
        options=[types.Option(name='lanplus', value='1')],
    ),
)

for agent in agents_service.list():
    print("%s agent %s at %s (order %d)" % (host.name, agent.type, agent.address, agent.order))

connection.close()
