#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: dns_record
short_description: A, AAAA and CNAME records by RFC 2136 dynamic update signed with TSIG
version_added: 0.1.0
description:
  - Makes one RRset (O(record), O(type)) of a zone on an authoritative DNS server hold exactly O(value) with
    O(ttl) (O(state=present)), or removes it - or only the given values - (O(state=absent)), by an RFC 2136
    dynamic update signed with a TSIG key (RFC 8945), with C(dnspython). Used to move service names to the
    surviving site in a disaster-recovery failover (see the C(sre.ovirt.dr) role).
  - Reads the zone's SOA and the current records from O(server) first (over O(protocol), signed with the key, so
    a wrong key fails before anything is sent), computes the change, and sends at most one update. The update
    carries a prerequisite - the RRset as it was read (or its absence) - so a concurrent change on the server makes
    the update fail instead of being overwritten. The answer's rcode is checked, and the RRset is read back.
  - O(value) is a set - order and duplicates do not matter; a different O(ttl) is a change.
  - A CNAME excludes every other record at its name (RFC 1034); the module refuses to add a CNAME where A or AAAA
    records are, or A/AAAA records where a CNAME is, and a CNAME at the zone apex.
  - Talks to no Engine.
author:
  - SRE oVirt team (@sre-ovirt)
options:
  server:
    description: The primary (authoritative) DNS server of O(zone) - a host name or an address.
    type: str
    required: true
  port:
    description: The server's port.
    type: int
    default: 53
  protocol:
    description: The transport of the queries and the update. An update larger than 512 bytes needs V(tcp).
    type: str
    choices: [tcp, udp]
    default: tcp
  timeout:
    description: Seconds to wait for each answer of the server.
    type: float
    default: 10
  zone:
    description:
      - The zone to update, for example V(example.com) (a trailing dot is optional).
      - When omitted, O(record) is taken as fully qualified and its zone is the one O(server) names in its answer
        to a SOA query for O(record).
    type: str
  record:
    description:
      - The name of the records. A name ending with a dot, or ending with O(zone), is taken as it is; any other
        name is relative to O(zone) (V(www) in zone V(example.com) is V(www.example.com)); V(@) is the zone apex.
      - It must lie in O(zone).
    type: str
    required: true
  type:
    description: The record type.
    type: str
    choices: [A, AAAA, CNAME]
    default: A
  value:
    description:
      - The records' data - IPv4 addresses (V(A)), IPv6 addresses (V(AAAA)), or one target host name (V(CNAME);
        always a fully qualified name, the trailing dot is optional).
      - Required with O(state=present). With O(state=absent), only these values are removed; without it, the whole
        RRset is.
    type: list
    elements: str
  ttl:
    description: The time to live of the RRset, in seconds (0 to 2147483647).
    type: int
    default: 300
  state:
    description:
      - V(present) - the RRset holds exactly O(value) with O(ttl).
      - V(absent) - the RRset (or only the values in O(value)) is removed.
    type: str
    choices: [present, absent]
    default: present
  key_name:
    description: The name of the TSIG key, as configured on the server. Without O(key_name) and O(key_secret) the
      update is sent unsigned (only servers that allow updates by address accept it).
    type: str
  key_secret:
    description: The TSIG key's secret, base64 encoded (the C(secret) of a C(tsig-keygen) key). Never logged or
      returned.
    type: str
  key_algorithm:
    description: The TSIG key's algorithm.
    type: str
    choices: [hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1, hmac-md5]
    default: hmac-sha256
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reads the zone and the records (with the key, so a wrong key fails) and sends no update.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The RRset before and after, in zone-file form.
notes:
  - Not in the C(group/sre.ovirt.engine) action group - it takes no Engine connection.
  - Requires C(dnspython) (2.4 or newer) where the module runs.
  - The server must accept updates of O(zone) signed with the key (BIND - C(allow-update { key "NAME"; };) or an
    C(update-policy)). A refused update names the cause - an unknown key or a wrong secret (C(NOTAUTH), TSIG
    C(BADKEY) / C(BADSIG)), a key or address the zone does not allow (C(REFUSED)), a server that is not the
    zone's primary (C(NOTAUTH)).
requirements:
  - dnspython >= 2.4
seealso:
  - name: RFC 2136 - Dynamic Updates in the Domain Name System
    description: The update protocol.
    link: https://www.rfc-editor.org/rfc/rfc2136
  - name: RFC 8945 - Secret Key Transaction Authentication for DNS (TSIG)
    description: How the update is signed.
    link: https://www.rfc-editor.org/rfc/rfc8945
"""

EXAMPLES = r"""
- name: Point the service name at the secondary site's load balancer
  sre.ovirt.dns_record:
    server: ns1.example.com
    zone: example.com
    record: app
    type: A
    value: [198.51.100.10, 198.51.100.11]
    ttl: 60
    key_name: dr-update
    key_secret: "{{ vault_dr_tsig_secret }}"

- name: An alias for the portal
  sre.ovirt.dns_record:
    server: ns1.example.com
    zone: example.com
    record: portal.example.com
    type: CNAME
    value: [app.example.com]
    key_name: dr-update
    key_secret: "{{ vault_dr_tsig_secret }}"

- name: Take one address out of the round robin
  sre.ovirt.dns_record:
    server: ns1.example.com
    zone: example.com
    record: app
    type: A
    value: [198.51.100.11]
    state: absent
    key_name: dr-update
    key_secret: "{{ vault_dr_tsig_secret }}"
"""

RETURN = r"""
record:
  description: The records' fully qualified name, without the trailing dot.
  returned: always
  type: str
  sample: app.example.com
zone:
  description: The zone, without the trailing dot.
  returned: always
  type: str
  sample: example.com
type:
  description: The record type.
  returned: always
  type: str
  sample: A
before:
  description: The RRset as read before the update - C(ttl) (null when there is none) and C(value) (sorted).
  returned: always
  type: dict
  sample: {"ttl": 300, "value": ["192.0.2.10"]}
after:
  description: The RRset after the update (in check mode, as it would be).
  returned: always
  type: dict
  sample: {"ttl": 60, "value": ["198.51.100.10", "198.51.100.11"]}
dns_rc:
  description: The rcode of the server's answer to the update; null when no update was sent (nothing to change,
    or check mode).
  returned: always
  type: int
  sample: 0
dns_rc_str:
  description: The rcode's name (C(NOERROR), C(REFUSED), C(NOTAUTH), ...), or null.
  returned: always
  type: str
  sample: NOERROR
"""

import base64
import binascii
import ipaddress
import socket
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdataclass
    import dns.rdataset
    import dns.rdatatype
    import dns.tsig
    import dns.update
except ImportError:  # pragma: no cover
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_DNSPYTHON = True
    DNSPYTHON_IMPORT_ERROR = None

TYPES = ("A", "AAAA", "CNAME")
ALGORITHMS = ("hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5")
MAX_TTL = 2147483647

# What a refused update means (RFC 2136 section 2.2, RFC 8945 section 5.3), by rcode name.
RCODE_MEANING = {
    "NOTAUTH": "TSIG key rejected, or the server is not authoritative for the zone: check key_name, key_secret "
               "and key_algorithm against the server's key, and that server is the zone's primary",
    "REFUSED": "the server refused the update: the key (or, unsigned, this address) is not allowed to update "
               "the zone (BIND: allow-update / update-policy), or the server does not serve the zone",
    "NOTZONE": "the record is not in the zone",
    "NXRRSET": "the records changed on the server between the read and the update (prerequisite failed); run "
               "again",
    "YXRRSET": "the records changed on the server between the read and the update (prerequisite failed); run "
               "again",
    "NXDOMAIN": "the name changed on the server between the read and the update (prerequisite failed); run again",
    "YXDOMAIN": "the name changed on the server between the read and the update (prerequisite failed); run again",
    "NOTIMP": "the server does not implement dynamic updates",
    "FORMERR": "the server could not parse the update",
    "SERVFAIL": "the server failed to apply the update (see its log)",
}
TSIG_ERRORS = {
    "PeerBadKey": "the server does not know the key %(key)r (TSIG BADKEY): check key_name and key_algorithm",
    "PeerBadSignature": "the server rejected the signature of key %(key)r (TSIG BADSIG): key_secret (or "
                        "key_algorithm) does not match the server's key",
    "PeerBadTime": "the server rejected the time of the signature (TSIG BADTIME): the clocks of this host and the "
                   "server differ by more than the allowed fudge (300 s)",
    "PeerBadTruncation": "the server rejected the truncated signature (TSIG BADTRUNC)",
}


class RecordError(Exception):
    """A failure of the task, naming the option at fault (``field``) and the server's rcode when there is one."""

    def __init__(self, msg, field=None, rcode=None):
        super(RecordError, self).__init__(msg)
        self.field = field
        self.rcode = rcode


def argument_spec():
    return dict(
        server=dict(type="str", required=True),
        port=dict(type="int", default=53),
        protocol=dict(type="str", choices=["tcp", "udp"], default="tcp"),
        timeout=dict(type="float", default=10),
        zone=dict(type="str"),
        record=dict(type="str", required=True),
        type=dict(type="str", choices=list(TYPES), default="A"),
        value=dict(type="list", elements="str"),
        ttl=dict(type="int", default=300),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        key_name=dict(type="str", no_log=False),
        key_secret=dict(type="str", no_log=True),
        key_algorithm=dict(type="str", choices=list(ALGORITHMS), default="hmac-sha256"),
    )


# -- pure logic: names, values, the change ----------------------------------------------------------------------
def absolute(name):
    """Name text -> lower-case absolute text with the trailing dot, as the server writes it (IDNA: xn--)."""
    name = name.strip()
    name = name if name.endswith(".") else name + "."
    try:
        return dns.name.from_text(name).to_text().lower()
    except dns.exception.DNSException:      # reported by check_name
        return name.lower()


def record_fqdn(record, zone):
    """The absolute name (trailing dot) of ``record`` in ``zone`` (both texts); RecordError naming ``record``."""
    zone = absolute(zone)
    record = record.strip()
    if record in ("@", ""):
        return zone
    if record.endswith("."):
        fqdn = record.lower()
    elif (record.lower() + ".") == zone or (record.lower() + ".").endswith("." + zone):
        fqdn = record.lower() + "."
    else:
        fqdn = "%s.%s" % (record.lower(), zone)
    fqdn = absolute(fqdn)
    if fqdn != zone and not fqdn.endswith("." + zone):
        raise RecordError("record: %s is not in zone %s" % (fqdn.rstrip("."), zone.rstrip(".")), "record")
    return fqdn


def check_name(text, field):
    """``text`` parses as a DNS name; RecordError naming ``field`` otherwise."""
    if not text.strip() or text.strip() == ".":
        raise RecordError("%s: empty name" % field, field)
    if any(c.isspace() for c in text.strip()) or "/" in text:
        raise RecordError("%s: %r is not a DNS name" % (field, text), field)
    try:
        name = dns.name.from_text(text.strip())
    except dns.exception.DNSException as exc:
        raise RecordError("%s: %r is not a DNS name (%s)" % (field, text, exc), field)
    for label in name.labels:
        if label == b"*" and name.labels[0] == label:
            continue
        if label and not all(c.isalnum() or c in "-_" for c in label.decode("ascii", "replace")):
            raise RecordError("%s: %r is not a host name (letters, digits, '-' and '_' only)" % (field, text), field)
    return name


def normalize_value(rtype, text):
    """One value of ``rtype`` in canonical text (IPv6 compressed, CNAME target absolute and lower case)."""
    text = str(text).strip()
    if rtype == "A":
        try:
            return str(ipaddress.IPv4Address(text))
        except ValueError:
            if _is_ipv6(text):
                raise RecordError("value: %r is an IPv6 address; use type=AAAA" % text, "value")
            raise RecordError("value: %r is not an IPv4 address (type=A)" % text, "value")
    if rtype == "AAAA":
        try:
            return ipaddress.IPv6Address(text).compressed
        except ValueError:
            if _is_ipv4(text):
                raise RecordError("value: %r is an IPv4 address; use type=A" % text, "value")
            raise RecordError("value: %r is not an IPv6 address (type=AAAA)" % text, "value")
    if _is_ipv4(text) or _is_ipv6(text):
        raise RecordError("value: %r is an address; a CNAME's value is a host name (use type=A or AAAA for "
                          "addresses)" % text, "value")
    check_name(text, "value")
    return absolute(text)


def _is_ipv4(text):
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _is_ipv6(text):
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def check_params(p):
    """Everything about the options that can be checked before talking to the server. Returns the normalized
    desired values (a sorted list; None for a whole-RRset removal). Raises RecordError naming the option."""
    if not p["server"].strip():
        raise RecordError("server: empty", "server")
    if not 1 <= p["port"] <= 65535:
        raise RecordError("port: must be 1 to 65535, got %d" % p["port"], "port")
    if p["timeout"] <= 0:
        raise RecordError("timeout: must be more than 0, got %s" % p["timeout"], "timeout")
    if not 0 <= p["ttl"] <= MAX_TTL:
        raise RecordError("ttl: must be 0 to %d, got %d" % (MAX_TTL, p["ttl"]), "ttl")
    if p["zone"] is not None:
        check_name(p["zone"], "zone")
        check_name(p["record"] if p["record"].strip() != "@" else p["zone"], "record")
        fqdn = record_fqdn(p["record"], p["zone"])
    elif p["record"].strip() in ("@", ""):
        raise RecordError("record: %r needs zone" % p["record"], "record")
    else:
        check_name(p["record"], "record")
        fqdn = absolute(p["record"])
    if bool(p["key_name"]) != bool(p["key_secret"]):
        missing = "key_secret" if p["key_name"] else "key_name"
        raise RecordError("%s: key_name and key_secret go together; %s is missing" % (missing, missing), missing)
    if p["key_name"]:
        check_name(p["key_name"], "key_name")
        try:
            base64.b64decode(p["key_secret"].strip(), validate=True)
        except (binascii.Error, ValueError):
            raise RecordError("key_secret: not base64 (the secret of a tsig-keygen key)", "key_secret")
    values = p["value"]
    if p["state"] == "present" and not values:
        raise RecordError("value: required with state=present (the %s record's data)" % p["type"], "value")
    if values is None:
        return fqdn, None
    if p["state"] == "absent" and not values:
        raise RecordError("value: empty list; omit value to remove the whole RRset", "value")
    norm = sorted(set(normalize_value(p["type"], v) for v in values))
    if p["type"] == "CNAME":
        if len(norm) > 1:
            raise RecordError("value: a CNAME has exactly one target, got %d: %s" % (len(norm), ", ".join(norm)),
                              "value")
        if p["zone"] is not None:
            check_apex(p, fqdn, absolute(p["zone"]))
        if p["state"] == "present" and norm[0] == fqdn:
            raise RecordError("value: a CNAME cannot point at itself (%s)" % fqdn.rstrip("."), "value")
    return fqdn, norm


def check_apex(p, fqdn, zone):
    if p["type"] == "CNAME" and p["state"] == "present" and fqdn == zone:
        raise RecordError("record: a CNAME cannot be at the zone apex %s (it holds SOA and NS records)"
                          % fqdn.rstrip("."), "record")


def rrset_state(ttl, values):
    return {"ttl": ttl if values else None, "value": sorted(values)}


def plan(state, before, desired, ttl):
    """The RRset after the task: ``before`` is rrset_state() of the server's RRset, ``desired`` the normalized
    values (None: the whole RRset, with state=absent). Returns (after, changed)."""
    if state == "present":
        after = rrset_state(ttl, desired)
    elif desired is None:
        after = rrset_state(None, [])
    else:
        after = rrset_state(before["ttl"], [v for v in before["value"] if v not in desired])
    return after, after != before


def zone_lines(fqdn, rtype, state):
    return "".join("%s %d IN %s %s\n" % (fqdn, state["ttl"], rtype, v) for v in state["value"])


def rcode_message(rcode_text, what):
    meaning = RCODE_MEANING.get(rcode_text, "the server refused it")
    return "%s: %s (%s)" % (what, meaning, rcode_text)


# -- talking to the server ----------------------------------------------------------------------------------------
class Server(object):
    def __init__(self, p):
        self.host = p["server"].strip()
        self.port = p["port"]
        self.protocol = p["protocol"]
        self.timeout = p["timeout"]
        self.key = None
        if p["key_name"]:
            self.key = dns.tsig.Key(p["key_name"], p["key_secret"].strip(), p["key_algorithm"])
        self.key_name = p["key_name"]
        self.where = "%s port %d over %s" % (self.host, self.port, self.protocol)
        self.address = None

    def resolve_address(self):
        """dnspython sends to addresses only: a host name is looked up once, with the system's resolver."""
        if self.address is None:
            if _is_ipv4(self.host) or _is_ipv6(self.host):
                self.address = self.host
            else:
                try:
                    infos = socket.getaddrinfo(self.host, self.port, 0, socket.SOCK_STREAM)
                except (socket.gaierror, UnicodeError) as exc:
                    raise RecordError("server: cannot resolve %s: %s" % (self.host, exc), "server")
                self.address = infos[0][4][0]
                self.where = "%s (%s) port %d over %s" % (self.host, self.address, self.port, self.protocol)
        return self.address

    def send(self, message, what, update=False):
        address = self.resolve_address()
        try:
            if self.protocol == "udp":
                r = dns.query.udp(message, address, port=self.port, timeout=self.timeout, ignore_unexpected=True)
                if update or not r.flags & dns.flags.TC:
                    return r
            # over TCP, or the UDP answer to a query was truncated (a large RRset): ask again over TCP
            return dns.query.tcp(message, address, port=self.port, timeout=self.timeout)
        except dns.tsig.PeerError as exc:
            text = TSIG_ERRORS.get(type(exc).__name__, "the server rejected the TSIG signature (%s)" % exc)
            field = "key_name" if type(exc).__name__ == "PeerBadKey" else "key_secret"
            raise RecordError("%s: TSIG key rejected by %s - %s" % (what, self.where, text % {"key": self.key_name}),
                              field, rcode=dns.rcode.NOTAUTH)
        except dns.exception.Timeout:
            raise RecordError("server: no answer from %s in %ss (%s)%s" % (
                self.where, self.timeout, what, "; the update may or may not have been applied - run again, the "
                "module reads the records first" if update else ""), "server")
        except dns.exception.DNSException as exc:
            raise RecordError("server: bad answer from %s (%s): %s" % (self.where, what, exc), "server")
        except OSError as exc:
            raise RecordError("server: cannot reach %s (%s): %s" % (self.where, what, exc), "server")

    def query(self, name, rtype):
        q = dns.message.make_query(name, rtype)
        q.flags &= ~dns.flags.RD
        if self.key is not None:
            q.use_tsig(self.key)
        return self.send(q, "query %s %s" % (name, rtype))

    def check_zone(self, zone):
        """The server is authoritative for ``zone`` (its SOA, with the AA flag)."""
        r = self.query(zone, "SOA")
        rc = dns.rcode.to_text(r.rcode())
        soa = [rr for rr in r.answer if rr.rdtype == dns.rdatatype.SOA and rr.name.to_text().lower() == zone]
        if rc != "NOERROR" or not soa or not r.flags & dns.flags.AA:
            raise RecordError("zone: %s is not authoritative for zone %s (SOA query answered %s%s%s)"
                              % (self.where, zone.rstrip("."), rc, "" if soa else ", no SOA",
                                 "" if r.flags & dns.flags.AA else ", not authoritative"), "zone",
                              rcode=r.rcode())

    def find_zone(self, fqdn):
        """The zone ``fqdn`` lies in, as the server says: the owner of the SOA in its answer or authority section."""
        r = self.query(fqdn, "SOA")
        rc = dns.rcode.to_text(r.rcode())
        if rc in ("NOERROR", "NXDOMAIN") and r.flags & dns.flags.AA:
            for rr in list(r.answer) + list(r.authority):
                if rr.rdtype == dns.rdatatype.SOA:
                    return rr.name.to_text().lower()
        raise RecordError("zone: %s gave no zone for %s (SOA query answered %s%s); set zone"
                          % (self.where, fqdn.rstrip("."), rc, "" if r.flags & dns.flags.AA else ", not authoritative"),
                          "zone", rcode=r.rcode())

    def read(self, fqdn, rtype):
        """rrset_state() of ``fqdn``'s ``rtype`` records, as the server holds them."""
        r = self.query(fqdn, rtype)
        rc = dns.rcode.to_text(r.rcode())
        if rc not in ("NOERROR", "NXDOMAIN"):
            raise RecordError("server: query %s %s on %s answered %s" % (fqdn, rtype, self.where, rc), "server",
                              rcode=r.rcode())
        want = dns.rdatatype.from_text(rtype)
        for rr in r.answer:
            if rr.rdtype == want and rr.name.to_text().lower() == fqdn:
                values = set()
                for rd in rr:
                    values.add(normalize_value(rtype, rd.to_text()) if rtype != "CNAME" else rd.to_text().lower())
                return rrset_state(rr.ttl, values)
        return rrset_state(None, [])

    def update(self, zone, fqdn, rtype, before, after):
        """Send the one update turning ``before`` into ``after``; returns the answer's rcode (int)."""
        u = dns.update.UpdateMessage(zone)
        if self.key is not None:
            u.use_tsig(self.key)
        name = dns.name.from_text(fqdn)
        if before["value"]:
            u.present(name, _rdataset(rtype, before))     # RRset exists (value dependent)
        else:
            u.absent(name, rtype)                                # RRset does not exist
        if rtype in ("A", "AAAA") and after["value"]:
            u.absent(name, "CNAME")
        if rtype == "CNAME" and after["value"]:
            u.absent(name, "A")
            u.absent(name, "AAAA")
        if not after["value"]:
            u.delete(name, rtype)
        elif before["value"] and after["ttl"] == before["ttl"] and set(after["value"]) <= set(before["value"]):
            u.delete(name, rtype, *[v for v in before["value"] if v not in after["value"]])
        else:
            u.replace(name, after["ttl"], rtype, *after["value"])
        r = self.send(u, "update of %s %s" % (fqdn, rtype), update=True)
        return r.rcode()


def _rdataset(rtype, state):
    # A prerequisite's TTL is zero (RFC 2136 section 2.4.2); the server compares the data only.
    return dns.rdataset.from_text_list(dns.rdataclass.IN, rtype, 0, state["value"])


def run(module, p, result):
    """Fills ``result`` as it goes (a failure returns what was learnt before it)."""
    fqdn, desired = check_params(p)
    rtype = p["type"]
    result.update(changed=False, record=fqdn.rstrip("."), type=rtype, dns_rc=None, dns_rc_str=None)
    server = Server(p)
    if p["zone"] is None:
        zone = server.find_zone(fqdn)
        if fqdn != zone and not fqdn.endswith("." + zone):
            raise RecordError("record: %s is not in zone %s" % (fqdn.rstrip("."), zone.rstrip(".")), "record")
        check_apex(p, fqdn, zone)
    else:
        zone = absolute(p["zone"])
    result["zone"] = zone.rstrip(".")
    server.check_zone(zone)
    before = server.read(fqdn, rtype)
    result["before"] = before
    if p["state"] == "present":
        others = ("CNAME",) if rtype != "CNAME" else ("A", "AAAA")
        for other in others:
            there = server.read(fqdn, other)
            if there["value"]:
                raise RecordError("record: %s has %s records (%s); a CNAME cannot share its name with other records "
                                  "(RFC 1034) - remove them first (state=absent, type=%s)"
                                  % (fqdn.rstrip("."), other, ", ".join(there["value"]), other), "record")
    after, changed = plan(p["state"], before, desired, p["ttl"])
    result["after"] = after
    result["diff"] = dict(before=zone_lines(fqdn, rtype, before), after=zone_lines(fqdn, rtype, after),
                          before_header="%s %s (%s)" % (fqdn, rtype, server.host),
                          after_header="%s %s (%s)" % (fqdn, rtype, server.host))
    if not changed or module.check_mode:
        result["changed"] = changed
        return result
    rcode = server.update(zone, fqdn, rtype, before, after)
    result.update(dns_rc=rcode, dns_rc_str=dns.rcode.to_text(rcode), changed=rcode == dns.rcode.NOERROR)
    if rcode != dns.rcode.NOERROR:
        field = {"NOTAUTH": "key_name", "REFUSED": "key_name", "NOTZONE": "record"}.get(result["dns_rc_str"])
        raise RecordError(rcode_message(result["dns_rc_str"], "update of %s %s on %s"
                                        % (fqdn.rstrip("."), rtype, server.where)), field, rcode=rcode)
    now = server.read(fqdn, rtype)
    if now["value"] != after["value"] or (after["value"] and now["ttl"] != after["ttl"]):
        raise RecordError("record: %s answered NOERROR but %s %s now holds %s (ttl %s), not %s (ttl %s)"
                          % (server.where, fqdn.rstrip("."), rtype, now["value"] or "nothing", now["ttl"],
                             after["value"] or "nothing", after["ttl"]), "record", rcode=rcode)
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_together=[["key_name", "key_secret"]])
    if not HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"), exception=DNSPYTHON_IMPORT_ERROR)
    result = {}
    try:
        run(module, module.params, result)
    except RecordError as exc:
        if exc.rcode is not None:
            result.update(dns_rc=exc.rcode, dns_rc_str=dns.rcode.to_text(exc.rcode))
        for key in ("changed", "dns_rc", "dns_rc_str"):
            result.setdefault(key, False if key == "changed" else None)
        module.fail_json(msg=str(exc), field=exc.field, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
