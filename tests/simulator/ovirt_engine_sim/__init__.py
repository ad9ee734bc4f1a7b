# SPDX-License-Identifier: GPL-3.0-or-later
"""ovirt-engine-sim: a stateful oVirt Engine REST API v4 simulator.

The real ``ovirtsdk4`` (and therefore every Ansible module built on it) talks to it over HTTPS.
See ``docs/simulator.md`` in the sre.ovirt collection for the user guide.
"""

__version__ = "0.1.0"
API_PREFIX = "/ovirt-engine/api"
