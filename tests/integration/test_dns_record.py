# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sre.ovirt.dns_record through ansible-playbook against a real BIND ``named`` (tests/support/bind.py): what
the server answers afterwards, how many UPDATE requests it received (its log), its SOA serial."""

import base64
import os
import sys
import tempfile

import pytest

from tests.integration.harness import run_playbook
from tests.support.bind import BindServer, bind_skip_reason
from tests.support.collection import collections_path

pytestmark = pytest.mark.skipif(bind_skip_reason() is not None, reason=bind_skip_reason() or "")

ZONE_RECORDS = ("moved 300 IN A 192.0.2.1", "pool 300 IN A 192.0.2.31", "pool 300 IN A 192.0.2.32",
                "pool 300 IN A 192.0.2.33", "old-alias 300 IN CNAME moved.dr.test.", "taken 300 IN A 192.0.2.40")


@pytest.fixture(scope="module")
def bind():
    work = tempfile.mkdtemp(prefix="sre-ovirt-dns-")
    with BindServer(work, zone="dr.test", key_name="sre-ovirt-test", records=ZONE_RECORDS) as server:
        yield server
    os.rmdir(work)


def play(bind, *tasks, **record_defaults):
    """One play on localhost whose dns_record tasks get the server's connection options from module_defaults."""
    return [{"hosts": "localhost", "gather_facts": False,
             "module_defaults": {"sre.ovirt.dns_record": bind.module_args(**record_defaults)},
             "tasks": list(tasks)}]


def record(name, task_name=None, **args):
    return {"name": task_name or name, "sre.ovirt.dns_record": dict(args, record=name)}


def run(plays, check=False, diff=False, verbosity=0, callback="json"):
    return run_playbook(None, plays, check=check, diff=diff, verbosity=verbosity, callback=callback, timeout=300)


def test_create_a_record_check_mode_then_real_then_idempotent(bind):
    sent, serial = bind.updates_received(), bind.serial()
    create = record("app", value=["192.0.2.10", "192.0.2.11"], ttl=120)

    dry = run(play(bind, create), check=True, diff=True)
    assert dry.rc == 0, dry.stdout + dry.stderr
    res = dry.results("app")[0]
    assert dry.changed == 1 and res["changed"] is True
    assert res["after"] == {"ttl": 120, "value": ["192.0.2.10", "192.0.2.11"]}
    assert res["before"] == {"ttl": None, "value": []} and res["dns_rc"] is None
    assert "app.dr.test. 120 IN A 192.0.2.11" in res["diff"]["after"] and res["diff"]["before"] == ""
    assert bind.resolve("app") == []                          # check mode: nothing sent
    assert (bind.updates_received(), bind.serial()) == (sent, serial)

    again = dict(create, name="again", **{"sre.ovirt.dns_record": dict(create["sre.ovirt.dns_record"],
                                                                       value=["192.0.2.11", "192.0.2.10", "192.0.2.11"])})
    real = run(play(bind, create, again))
    assert real.rc == 0, real.stdout + real.stderr
    first, second = real.results("app")[0], real.results("again")[0]
    assert first["changed"] is True and (first["dns_rc"], first["dns_rc_str"]) == (0, "NOERROR")
    assert first["record"] == "app.dr.test" and first["type"] == "A"
    assert second["changed"] is False and second["dns_rc"] is None    # order and duplicates do not matter
    assert real.changed == 1
    assert bind.resolve("app") == ["192.0.2.10", "192.0.2.11"] and bind.rrset("app", "A").ttl == 120
    assert bind.updates_received() == sent + 1                # the second task sent nothing
    assert bind.serial() > serial


def test_change_value_and_ttl_shows_before_and_after(bind):
    out = run(play(bind, record("moved", value=["192.0.2.20", "192.0.2.21"], ttl=60),
                   record("moved.dr.test", task_name="ttl only", value=["192.0.2.20", "192.0.2.21"], ttl=30,
                          zone=None)),                   # the zone is found: the server's SOA for the name
              diff=True)
    assert out.rc == 0, out.stdout + out.stderr
    res, ttl = out.results("moved")[0], out.results("ttl only")[0]
    assert res["before"] == {"ttl": 300, "value": ["192.0.2.1"]}
    assert res["after"] == {"ttl": 60, "value": ["192.0.2.20", "192.0.2.21"]}
    assert res["diff"]["before"] == "moved.dr.test. 300 IN A 192.0.2.1\n"
    assert res["diff"]["after"] == "moved.dr.test. 60 IN A 192.0.2.20\nmoved.dr.test. 60 IN A 192.0.2.21\n"
    assert ttl["changed"] is True and ttl["after"]["ttl"] == 30   # a TTL change is a change
    assert (ttl["zone"], ttl["record"]) == ("dr.test", "moved.dr.test")
    assert bind.resolve("moved") == ["192.0.2.20", "192.0.2.21"] and bind.rrset("moved", "A").ttl == 30


def test_aaaa_cname_and_absent(bind):
    sent = bind.updates_received()
    out = run(play(bind,
                   record("v6", type="AAAA", value=["2001:DB8:0:0::0:10"]),
                   record("v6", task_name="v6 again", type="AAAA", value=["2001:db8::10"]),
                   record("portal", type="CNAME", value=["app.dr.test"]),
                   record("portal", task_name="portal again", type="CNAME", value=["APP.dr.test."]),
                   record("old-alias", type="CNAME", state="absent"),
                   record("pool", value=["192.0.2.32", "192.0.2.99"], state="absent"),
                   record("gone", task_name="absent already", state="absent")))
    assert out.rc == 0, out.stdout + out.stderr
    changed = {t["task"]["name"]: t["hosts"]["localhost"]["changed"] for t in out.data["plays"][0]["tasks"]}
    assert changed == {"v6": True, "v6 again": False, "portal": True, "portal again": False, "old-alias": True,
                       "pool": True, "absent already": False}
    assert bind.resolve("v6", "AAAA") == ["2001:db8::10"]
    assert bind.resolve("portal", "CNAME") == ["app.dr.test."]
    assert bind.resolve("old-alias", "CNAME") == []
    assert bind.resolve("pool") == ["192.0.2.31", "192.0.2.33"]      # only the given value that was there went
    assert out.results("pool")[0]["after"] == {"ttl": 300, "value": ["192.0.2.31", "192.0.2.33"]}
    assert bind.updates_received() == sent + 4


def test_refusals_name_the_field_and_send_nothing(bind):
    sent, serial = bind.updates_received(), bind.serial()
    tasks = [record("taken", task_name="cname over a", type="CNAME", value=["app.dr.test"]),
             record("portal", task_name="a over cname", value=["192.0.2.50"]),
             record("bad-ip", task_name="bad ip", value=["192.0.2.300"]),   # the other value checks: unit tests
             record("alg", task_name="bad algorithm", value=["192.0.2.1"], key_algorithm="hmac-sha3")]
    for t in tasks:
        t["ignore_errors"] = True
    out = run(play(bind, *tasks))
    assert out.rc == 0, out.stdout + out.stderr
    msgs = {name: out.results(name)[0] for name in (t["name"] for t in tasks)}
    assert all(r.get("failed") for r in msgs.values()), msgs
    assert "taken.dr.test has A records (192.0.2.40); a CNAME cannot share its name" in msgs["cname over a"]["msg"]
    assert "portal.dr.test has CNAME records (app.dr.test.)" in msgs["a over cname"]["msg"]
    assert msgs["bad ip"]["msg"] == "value: '192.0.2.300' is not an IPv4 address (type=A)"
    assert msgs["bad algorithm"]["msg"] == ("value of key_algorithm must be one of: hmac-sha256, hmac-sha384, "
                                            "hmac-sha512, hmac-sha224, hmac-sha1, hmac-md5, got: hmac-sha3")
    assert {k: r.get("field") for k, r in msgs.items() if k != "bad algorithm"} == {
        "cname over a": "record", "a over cname": "record", "bad ip": "value"}
    assert (bind.updates_received(), bind.serial()) == (sent, serial)
    assert bind.resolve("taken") == ["192.0.2.40"] and bind.resolve("portal", "CNAME") == ["app.dr.test."]


def test_wrong_key_fails_clearly_and_no_secret_in_verbose_output(bind):
    sent = bind.updates_received()
    wrong = base64.b64encode(b"not the key of this server, 32b").decode()
    out = run(play(bind, record("verbose", value=["192.0.2.60"]),
                   record("verbose", task_name="wrong key", value=["192.0.2.61"], key_secret=wrong)),
              verbosity=3, diff=True, callback="default")
    text = out.stdout + out.stderr
    assert out.rc == 2, text
    assert "TSIG key rejected" in text and "TSIG BADSIG" in text and "key_secret" in text
    assert bind.key_secret not in text and wrong not in text
    assert '"key_secret": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' in text   # the arguments were printed, masked
    assert bind.resolve("verbose") == ["192.0.2.60"]
    assert bind.updates_received() == sent + 1                # the wrong key failed on the read, before any update


def test_unknown_key_and_unsigned_update_are_explained(bind):
    sent = bind.updates_received()
    out = run(play(bind, dict(record("nokey", value=["192.0.2.70"], key_name="no-such-key"), ignore_errors=True),
                   dict(record("unsigned", value=["192.0.2.71"], key_name=None, key_secret=None), ignore_errors=True)))
    nokey, unsigned = out.results("nokey")[0], out.results("unsigned")[0]
    assert nokey["failed"] and nokey["field"] == "key_name" and nokey["dns_rc_str"] == "NOTAUTH"
    assert "does not know the key 'no-such-key' (TSIG BADKEY)" in nokey["msg"]
    # the zone allows queries from loopback but updates only with the key: the update itself is refused
    assert unsigned["failed"] and (unsigned["dns_rc"], unsigned["dns_rc_str"]) == (5, "REFUSED")
    assert "not allowed to update the zone" in unsigned["msg"] and unsigned["field"] == "key_name"
    assert bind.resolve("nokey") == [] and bind.resolve("unsigned") == []
    assert bind.updates_received() == sent + 1                # the unsigned one, denied


def test_update_carries_the_records_read_as_prerequisite(bind):
    """A change made on the server between the module's read and its update makes the update fail (NXRRSET)
    instead of silently overwriting it: the module's Server.update, driven step by step."""
    sys.path.insert(0, collections_path())
    from ansible_collections.sre.ovirt.plugins.modules import dns_record  # pylint: disable=import-outside-toplevel
    import dns.rcode  # pylint: disable=import-outside-toplevel
    import dns.query  # pylint: disable=import-outside-toplevel
    import dns.update  # pylint: disable=import-outside-toplevel
    params = dict(bind.module_args(), protocol="udp", timeout=5)
    server = dns_record.Server(params)
    fqdn = "race.dr.test."
    before = server.read(fqdn, "A")
    assert before == {"ttl": None, "value": []}
    other = dns.update.UpdateMessage(bind.zone, keyring=server.key)        # someone else creates it meanwhile
    other.add("race", 300, "A", "192.0.2.80")
    assert dns.query.tcp(other, bind.server, port=bind.port, timeout=5).rcode() == dns.rcode.NOERROR
    rc = server.update(bind.zone + ".", fqdn, "A", before, {"ttl": 300, "value": ["192.0.2.81"]})
    assert dns.rcode.to_text(rc) == "YXRRSET"
    assert bind.resolve("race") == ["192.0.2.80"]
    assert "changed on the server" in dns_record.rcode_message("YXRRSET", "update")
