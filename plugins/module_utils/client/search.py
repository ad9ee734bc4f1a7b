# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Engine searches, built one way: every value quoted (a name with a space, a quote or ``*`` would otherwise
find the wrong object or nothing), clauses joined with ``and`` / ``or``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sre.ovirt.plugins.module_utils.client.errors import EngineConflict


def quote(value):
    return '"%s"' % str(value).replace("\\", "\\\\").replace('"', '\\"')


def where(field, value):
    """One clause, ``field="value"``; numbers stay bare (``type=63``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "%s=%s" % (field, quote(value))
    return "%s=%s" % (field, value)


def all_of(*clauses):
    return " and ".join(c for c in clauses if c)


def any_of(*clauses):
    return " or ".join(c for c in clauses if c)


def of_types(*codes):
    """Events of any of these codes: ``type=17 or type=63``."""
    return any_of(*(where("type", int(c)) for c in codes))


def find_one(collection, search, what):
    """Exactly one object matching ``search`` or None; more than one is an error."""
    found = collection.list(search=search, max=2)
    if len(found) > 1:
        raise EngineConflict("%s: more than one object matches %s" % (what, search))
    return found[0] if found else None


def last_event_id(events_service):
    """The id of the Engine's newest event (0 when there is none): list events ``from_`` it to see what follows."""
    newest = events_service.list(max=1)
    return int(newest[0].id) if newest else 0


def get_by_name(collection, name, what="object", **extra):
    search = all_of(where("name", name), *(where(k, v) for k, v in sorted(extra.items())))
    found = [o for o in collection.list(search=search) if o.name == name]
    if len(found) > 1:
        raise EngineConflict("%s: more than one named %s" % (what, name))
    return found[0] if found else None
