# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sre.ovirt.dns_record's pure logic: names, values, the checks before anything is sent, the change."""

import pytest

from ansible_collections.sre.ovirt.plugins.modules.dns_record import (
    RecordError, check_params, normalize_value, plan, rcode_message, record_fqdn)

BASE = {"server": "ns1.example.com", "port": 53, "timeout": 10, "ttl": 300, "zone": "dr.test", "record": "app",
        "type": "A", "value": ["192.0.2.10"], "state": "present", "key_name": "k", "key_secret": "c2VjcmV0",
        "key_algorithm": "hmac-sha256", "protocol": "tcp"}


def fails(field, pattern, **override):
    with pytest.raises(RecordError, match=pattern) as exc:
        check_params(dict(BASE, **override))
    assert exc.value.field == field


@pytest.mark.parametrize("record,fqdn", [("app", "app.dr.test."), ("App.DR.test", "app.dr.test."),
                                         ("app.dr.test.", "app.dr.test."), ("@", "dr.test."),
                                         ("dr.test", "dr.test."), ("a.b", "a.b.dr.test."),
                                         ("*.wild", "*.wild.dr.test."), ("x.notdr.test", "x.notdr.test.dr.test."),
                                         ("Bücher", "xn--bcher-kva.dr.test.")])
def test_record_names(record, fqdn):
    assert record_fqdn(record, "dr.test.") == fqdn


def test_values_are_canonical():
    assert normalize_value("A", " 192.0.2.1 ") == "192.0.2.1"
    assert normalize_value("AAAA", "2001:DB8:0:0::0:10") == "2001:db8::10"
    assert normalize_value("CNAME", "App.Example.com") == "app.example.com."
    assert check_params(dict(BASE, value=["192.0.2.2", "192.0.2.1", "192.0.2.2"]))[1] == ["192.0.2.1", "192.0.2.2"]


def test_bad_input_names_the_field():
    fails("value", r"'10.0.0.256' is not an IPv4 address", value=["10.0.0.256"])
    fails("value", r"'010.0.0.1' is not an IPv4 address", value=["010.0.0.1"])
    fails("value", r"is an IPv6 address; use type=AAAA", value=["::1"])
    fails("value", r"is an IPv4 address; use type=A", type="AAAA", value=["192.0.2.1"])
    fails("value", r"not an IPv6 address", type="AAAA", value=["2001:db8::g"])
    fails("value", r"a CNAME's value is a host name", type="CNAME", value=["192.0.2.1"])
    fails("value", r"not a host name", type="CNAME", value=["bad!name.example.com"])
    fails("value", r"exactly one target, got 2", type="CNAME", value=["a.example.com", "b.example.com"])
    fails("value", r"cannot point at itself", type="CNAME", value=["app.dr.test"])
    fails("record", r"zone apex", type="CNAME", record="@", value=["a.example.com"])
    fails("value", r"required with state=present", value=None)
    fails("value", r"omit value to remove the whole RRset", value=[], state="absent")
    fails("record", r"www.other.test is not in zone dr.test", record="www.other.test.")
    fails("ttl", r"ttl: must be 0 to 2147483647, got -1", ttl=-1)
    fails("port", r"port: must be 1 to 65535", port=0)
    fails("key_secret", r"key_secret: not base64", key_secret="not base64!")
    fails("key_secret", r"key_name and key_secret go together", key_secret=None)
    fails("record", r"not a DNS name", record="a b")
    fails("record", r"not a DNS name", record="x" * 64)


def test_without_zone_the_record_is_fully_qualified():
    assert check_params(dict(BASE, zone=None, record="App.Example.com"))[0] == "app.example.com."
    fails("record", r"'@' needs zone", zone=None, record="@")


def test_absent_without_value_means_the_whole_rrset():
    assert check_params(dict(BASE, state="absent", value=None)) == ("app.dr.test.", None)


BEFORE = {"ttl": 300, "value": ["192.0.2.1", "192.0.2.2"]}
NONE = {"ttl": None, "value": []}


@pytest.mark.parametrize("state,desired,ttl,after,changed", [
    ("present", ["192.0.2.1", "192.0.2.2"], 300, BEFORE, False),
    ("present", ["192.0.2.1", "192.0.2.2"], 60, {"ttl": 60, "value": ["192.0.2.1", "192.0.2.2"]}, True),
    ("present", ["192.0.2.3"], 300, {"ttl": 300, "value": ["192.0.2.3"]}, True),
    ("absent", None, 300, NONE, True),
    ("absent", ["192.0.2.2", "192.0.2.9"], 300, {"ttl": 300, "value": ["192.0.2.1"]}, True),
    ("absent", ["192.0.2.9"], 300, BEFORE, False),
    ("absent", ["192.0.2.1", "192.0.2.2"], 300, NONE, True),
])
def test_plan(state, desired, ttl, after, changed):
    assert plan(state, BEFORE, desired, ttl) == (after, changed)


def test_plan_from_nothing():
    assert plan("present", NONE, ["192.0.2.1"], 300) == ({"ttl": 300, "value": ["192.0.2.1"]}, True)
    assert plan("absent", NONE, None, 300) == (NONE, False)


def test_rcodes_are_explained():
    assert rcode_message("NOTAUTH", "update").startswith("update: TSIG key rejected")
    assert "not allowed to update the zone" in rcode_message("REFUSED", "update")
    assert rcode_message("BADVERS", "update") == "update: the server refused it (BADVERS)"
