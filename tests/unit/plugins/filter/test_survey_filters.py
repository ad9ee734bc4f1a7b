# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""as_list / as_dict: role variables as AWX surveys and ``-e key=value`` give them."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sre.ovirt.plugins.filter.as_list import as_dict, as_list


@pytest.mark.parametrize("value,expected", [
    (["web01", "web02"], ["web01", "web02"]),
    ("web01,web02", ["web01", "web02"]),
    (" web01 , web02 ,", ["web01", "web02"]),
    ("web01", ["web01"]),
    ("", []),
    (None, []),
    (3, [3]),
    ({"name": "web01"}, [{"name": "web01"}]),
    ('["a", "b"]', ["a", "b"]),
    ('[{"name": "web01", "memory": "1GiB"}]', [{"name": "web01", "memory": "1GiB"}]),
    ("[{name: web01}]", [{"name": "web01"}]),
])
def test_as_list(value, expected):
    assert as_list(value) == expected


def test_as_list_other_separator_and_none():
    assert as_list("a b;c", ";") == ["a b", "c"]
    assert as_list("a,b", "") == ["a,b"]


def test_as_list_refuses_a_broken_list_text():
    with pytest.raises(AnsibleFilterError, match="not a JSON or YAML list"):
        as_list("[a, {")


@pytest.mark.parametrize("value,expected", [
    ({"a": 1}, {"a": 1}),
    (None, {}),
    ("", {}),
    ("keep_daily=7 keep_weekly=4", {"keep_daily": "7", "keep_weekly": "4"}),
    ("keep_daily=7,keep_weekly=4", {"keep_daily": "7", "keep_weekly": "4"}),
    ('{"gold": {"priority": 100}}', {"gold": {"priority": 100}}),
    ("{gold: {priority: 100}}", {"gold": {"priority": 100}}),
])
def test_as_dict(value, expected):
    assert as_dict(value) == expected


@pytest.mark.parametrize("value", ["just words", "{a: [", ["a"], 3])
def test_as_dict_refuses_what_is_no_mapping(value):
    with pytest.raises(AnsibleFilterError, match="as_dict"):
        as_dict(value)
