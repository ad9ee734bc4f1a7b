# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ha_policy role's tier matcher, as pure logic."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sre.ovirt.plugins.filter.ha_tier_plan import ha_tier_plan

TIERS = {"gold": {"priority": 90}, "silver": {"priority": 50}}


def vm(name, *tags):
    return {"name": name, "tags": [{"name": t} for t in tags]}


def test_first_matching_assignment_wins_by_name_or_tag():
    vms = [vm("web01", "frontend"), vm("db01"), vm("db-backup"), vm("batch1")]
    assignments = [{"tier": "gold", "names": ["db??"]}, {"tier": "silver", "names": ["db*"], "tags": ["frontend"]}]
    plan = ha_tier_plan(vms, assignments, TIERS)
    assert [(p["vm"], p["tier"]) for p in plan] == [("db-backup", "silver"), ("db01", "gold"), ("web01", "silver")]
    assert plan[1]["settings"] == {"priority": 90}


def test_patterns_are_shell_style_not_regular_expressions():
    plan = ha_tier_plan([vm("a.b"), vm("axb")], [{"tier": "gold", "names": ["a.b"]}], TIERS)
    assert [p["vm"] for p in plan] == ["a.b"]


def test_unknown_tier_is_named():
    with pytest.raises(AnsibleFilterError, match="unknown tier.*bronze.*known: gold, silver"):
        ha_tier_plan([vm("x")], [{"tier": "bronze", "names": ["*"]}], TIERS)


def test_vm_options_names_a_misspelt_option():
    from ansible_collections.sre.ovirt.plugins.filter.vm_options import vm_options
    assert vm_options({"name": "web1", "memory": "1GiB", "comment": None}, "running") == {
        "name": "web1", "memory": "1GiB", "state": "running"}
    assert vm_options({"name": "web1", "state": "stopped"}, "running")["state"] == "stopped"
    with pytest.raises(AnsibleFilterError, match="VM web1: unknown option.*memroy"):
        vm_options({"name": "web1", "memroy": "1GiB"})
