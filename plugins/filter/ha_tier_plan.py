# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The HA tier each VM gets: the first assignment whose name pattern (shell style) or tag matches it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch

from ansible.errors import AnsibleFilterError


def _tags(vm):
    out = []
    for tag in vm.get("tags") or []:
        out.append(tag.get("name") if isinstance(tag, dict) else tag)
    return set(t for t in out if t)


def ha_tier_plan(vms, assignments, tiers):
    """[{vm, tier, settings}] for every VM (sorted by name) that an assignment matches; others are left out."""
    if not isinstance(tiers, dict):
        raise AnsibleFilterError("ha_tier_plan: tiers must be a dict of tier name to settings, got %r" % (tiers,))
    unknown = sorted(set(a.get("tier") for a in assignments or []) - set(tiers))
    if unknown:
        raise AnsibleFilterError("ha_tier_plan: unknown tier(s) %s; known: %s" % (
            ", ".join(str(u) for u in unknown), ", ".join(sorted(tiers))))
    plan = []
    for vm in sorted(vms or [], key=lambda v: v["name"]):
        for a in assignments or []:
            by_name = any(fnmatch.fnmatchcase(vm["name"], p) for p in a.get("names") or [])
            by_tag = bool(set(a.get("tags") or []) & _tags(vm))
            if by_name or by_tag:
                plan.append({"vm": vm["name"], "tier": a["tier"], "settings": tiers[a["tier"]]})
                break
    return plan


class FilterModule(object):
    def filters(self):
        return {"ha_tier_plan": ha_tier_plan}
