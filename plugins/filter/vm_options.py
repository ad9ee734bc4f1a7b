# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A VM description (defaults combined with one item of a list) as the options of sre.ovirt.vm."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

try:
    from ansible_collections.sre.ovirt.plugins.module_utils.engine import WAIT_ARGUMENT_SPEC
    from ansible_collections.sre.ovirt.plugins.modules.vm import ARGUMENT_SPEC
    OPTIONS = frozenset(ARGUMENT_SPEC) | frozenset(WAIT_ARGUMENT_SPEC)
except ImportError:  # pragma: no cover - the collection is always importable where its filters run
    OPTIONS = None


def vm_options(vm, state=None):
    """``vm`` without its unset (None) keys, ``state`` filled in when the VM does not give one; a key the module
    does not take fails here, naming it (a typo would otherwise be dropped silently)."""
    if not isinstance(vm, dict) or not vm.get("name"):
        raise AnsibleFilterError("vm_options: each VM is a dict with at least a name, got %r" % (vm,))
    unknown = sorted(set(vm) - OPTIONS) if OPTIONS is not None else []
    if unknown:
        raise AnsibleFilterError("VM %s: unknown option(s) %s; sre.ovirt.vm takes: %s" % (
            vm["name"], ", ".join(unknown), ", ".join(sorted(OPTIONS))))
    out = dict((k, v) for k, v in vm.items() if v is not None)
    if state is not None:
        out.setdefault("state", state)
    return out


class FilterModule(object):
    def filters(self):
        return {"vm_options": vm_options}
