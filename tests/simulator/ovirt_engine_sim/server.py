# SPDX-License-Identifier: GPL-3.0-or-later
"""HTTPS front end: SSO, the REST API (XML via the SDK's readers/writers) and the admin API (JSON)."""

import base64
import http.server
import json
import secrets
import socket
import ssl
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

import ovirtsdk4
from ovirtsdk4 import types as T
from ovirtsdk4.reader import Reader
from ovirtsdk4.writer import Writer

from . import API_PREFIX
from .model import CHILD, COLLS, TOP, VIEWS, ApiError
from .routes import handler as route
from .search import SearchError

GENERIC_UPDATE = {"datacenters", "networks", "vnicprofiles", "tags", "host_nics", "operatingsystems"}
GENERIC_REMOVE = {"host_agents", "cluster_affinity_groups", "vnicprofiles", "networks", "template_nics"}
SSO_TOKEN = "/ovirt-engine/sso/oauth/token"
SSO_LOGOUT = "/ovirt-engine/services/sso-logout"
HEALTH = "/ovirt-engine/services/health"
# What an add leaves locked while its (simulated) async tasks run; ``Expect: 201-created`` waits for them.
_LOCKED = {"image_locked", "locked"}
EXPECT_WAIT_SECONDS = 600.0


class Target:
    """What a URL names: the root, a collection, an entity, an action, or a read-only view."""

    def __init__(self, kind, coll=None, parent=None, oid=None, name=None, owner=None, owner_id=None):
        self.kind, self.coll, self.parent, self.oid = kind, coll, parent, oid
        self.name, self.owner, self.owner_id = name, owner, owner_id


def resolve_path(segs):
    if not segs:
        return Target("root")
    coll = TOP.get(segs[0])
    if coll is None:
        raise ApiError(404)
    parent, i = None, 1
    while True:
        if i == len(segs):
            return Target("collection", coll, parent)
        oid = segs[i]
        i += 1
        if i == len(segs):
            return Target("entity", coll, parent, oid)
        seg = segs[i]
        i += 1
        child = CHILD.get((coll.name, seg))
        if child is not None:
            coll, parent = child, oid
            continue
        if (coll.name, seg) in VIEWS:
            rest = segs[i:]
            if (coll.name, seg) == ("datacenters", "clusters") and len(rest) >= 2:
                # DataCenterClustersService.clusterService is the full ClusterService (affinity groups, networks...)
                return resolve_path(["clusters"] + rest)
            if not rest:
                return Target("view", owner=coll, owner_id=oid, name=seg)
            if len(rest) == 1:
                return Target("view_entity", owner=coll, owner_id=oid, name=seg, oid=rest[0])
            if len(rest) == 2:
                return Target("view_action", owner=coll, owner_id=oid, name=seg, oid=rest[0], parent=rest[1])
            raise ApiError(404)
        if i == len(segs):
            return Target("action", coll, parent, oid, name=seg)
        raise ApiError(404)


def check_enums(elem, obj, where):
    """The SDK reads an unknown enum value as None; the Engine answers 400. Find such values."""
    for child in elem:
        tag = child.tag
        if not hasattr(obj, tag) or tag in ("href", "id"):
            continue
        val = getattr(obj, tag)
        if len(child) == 0:
            text = (child.text or "").strip()
            if text and val is None:
                raise ApiError(400, "Invalid value '%s' for field '%s.%s'" % (text, where, tag),
                               reason="Invalid value")
        elif isinstance(val, list):
            for sub, item in zip(list(child), val):
                if len(sub) == 0:
                    if (sub.text or "").strip() and item is None:
                        raise ApiError(400, "Invalid value '%s' for field '%s.%s'" % (sub.text.strip(), where, tag),
                                       reason="Invalid value")
                elif item is not None:
                    check_enums(sub, item, "%s.%s" % (where, tag))
        elif val is not None:
            check_enums(child, val, "%s.%s" % (where, tag))


def parse_body(body, expected=None, what="request", json_in=False):
    if not body or not body.strip():
        raise ApiError(400, "Request body is empty", reason="Request syntactically incorrect.")
    if json_in:
        from .jsonwire import json_to_xml, root_tag_of
        try:
            body = json_to_xml(body, what if what != "request" or expected is None else root_tag_of(expected))
        except ValueError as exc:
            raise ApiError(400, str(exc), reason="Request syntactically incorrect.")
    try:
        obj = Reader.read(body)
        root = ET.fromstring(body)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the client's
        raise ApiError(400, "Cannot parse XML: %s" % exc, reason="Request syntactically incorrect.")
    if expected is not None and not isinstance(obj, expected):
        raise ApiError(400, "Expected a <%s> element, got <%s>" % (what, root.tag),
                       reason="Request syntactically incorrect.")
    check_enums(root, obj, root.tag)
    return obj


def fault_xml(err):
    return Writer.write(T.Fault(reason=err.reason, detail=err.detail))


class Api:
    """Routes API requests to the engine; everything runs under the engine lock."""

    def __init__(self, engine):
        self.engine = engine
        self._json_in = False

    def handle(self, method, segs, query, body, headers):
        e = self.engine
        with e.lock:
            e.tick()
            # What this request causes (events, jobs) carries its correlation id, as in the Engine
            # (BackendResource.setCorrelationId → CorrelationIdTracker).
            e.request_correlation_id = headers.get("Correlation-Id") or query.get("correlation_id") or None
            self._json_in = (headers.get("Content-Type") or "").split(";")[0].strip().lower() == "application/json"
            e.read_memo = {} if method == "GET" else None
            try:
                out = self._dispatch(method, segs, query, body, headers)
                if method != "GET":
                    e.replication_changed()     # replication.py: sync replicas copy what the request changed
                return out
            finally:
                e.read_memo = None
                e.request_correlation_id = None
                e.persist()

    def _parse(self, body, expected, what="request"):
        return parse_body(body, expected, what, self._json_in)

    def _await_unlocked(self, c, parent, obj, query):
        """``Expect: 201-created``: the Engine waits for the add's async tasks before answering
        (AbstractBackendCollectionResource.fetchCreatedEntity → awaitCompletion)."""
        e = self.engine
        deadline = time.monotonic() + EXPECT_WAIT_SECONDS
        while str(getattr(getattr(obj, "status", None), "value", "")) in _LOCKED and time.monotonic() < deadline:
            e.tick()
            handler = route(e, "get", c.name)
            try:
                obj = handler(parent, obj.id, {}) if handler else e.get_generic(c.name, obj.id, parent)
            except ApiError:
                break
            if str(getattr(getattr(obj, "status", None), "value", "")) not in _LOCKED:
                break
            delay = e.next_due_real()
            e.cond.wait(timeout=0.5 if delay is None else min(max(delay, 0.001), 0.5))
        return obj

    def _dispatch(self, method, segs, query, body, headers):
        e = self.engine
        t = resolve_path(segs)
        if t.kind == "root":
            if method != "GET":
                raise ApiError(405, "Method not allowed")
            return 200, Writer.write(e.api_root())
        if t.kind == "collection":
            c = t.coll
            if method == "GET":
                items = e.list_coll(c.name, t.parent, dict(query))
                if t.parent is not None:
                    self._check_parent(c, t.parent)
                items = self._follow_all(c.name, items, query)
                return 200, Writer.write(list(items), root=c.plural)
            if method == "POST":
                if t.parent is not None:
                    self._check_parent(c, t.parent)
                handler = route(e, "add", c.name)
                if handler is None:
                    raise ApiError(405, "Cannot add to %s" % c.url)
                obj = self._parse(body, c.type, c.singular)
                created = handler(t.parent, obj, query)
                if "201-created" in (headers.get("Expect") or "").lower():
                    created = self._await_unlocked(c, t.parent, created, query)
                return 201, Writer.write(created)
            raise ApiError(405, "Method not allowed")
        if t.kind == "entity":
            c = t.coll
            if method == "GET":
                handler = route(e, "get", c.name)
                obj = handler(t.parent, t.oid, query) if handler else e.get_generic(c.name, t.oid, t.parent)
                obj = self._follow(c.name, obj, query.get("follow"))
                return 200, Writer.write(obj)
            if method == "PUT":
                handler = route(e, "update", c.name)
                obj = self._parse(body, c.type, c.singular)
                if handler is None:
                    if c.name not in GENERIC_UPDATE:
                        raise ApiError(405, "Cannot update %s" % c.singular)
                    from .model import merge, render
                    stored = e.must(c.name, t.oid, t.parent)
                    merge(stored, obj)
                    e.store.touch(c.name, t.oid)
                    return 200, Writer.write(render(c.name, stored, t.parent))
                return 200, Writer.write(handler(t.parent, t.oid, obj, query))
            if method == "DELETE":
                handler = route(e, "remove", c.name)
                if handler is None:
                    if c.name not in GENERIC_REMOVE:
                        raise ApiError(405, "Cannot remove %s" % c.singular)
                    e.remove_generic(c.name, t.oid, t.parent)
                else:
                    handler(t.parent, t.oid, query)
                if query.get("async", "").lower() == "true" or \
                        "202-accepted" in (headers.get("Expect") or "").lower():
                    return 202, ""  # BackendResource.performNonBlockingAction: 202, no body
                return 200, Writer.write(T.Action(status="complete"))
            raise ApiError(405, "Method not allowed")
        if t.kind == "action":
            if method != "POST":
                # not an action but an unknown sub-collection (or an action read with GET): no such resource
                e.must(t.coll.name, t.oid, t.parent)
                raise ApiError(404)
            handler = route(e, "action", (t.coll.name, t.name))
            if handler is None:
                e.must(t.coll.name, t.oid, t.parent)
                raise ApiError(404)
            action = self._parse(body, T.Action, "action")
            action.body_correlation_id = action.correlation_id     # <correlation_id> (ClusterUpgradeParameters)
            action.correlation_id = headers.get("Correlation-Id") or query.get("correlation_id")
            return 200, Writer.write(handler(t.parent, t.oid, action, query))
        key = "%s_%s" % (t.owner.name, t.name)
        if t.kind == "view":
            if method == "GET":
                handler = route(e, "view", key)
                items = handler(t.owner_id, query) if handler else self._empty_view(t)
                items = e._page(items, dict(query))
                return 200, Writer.write(list(items), root=VIEWS[(t.owner.name, t.name)][1])
            if method == "POST":
                handler = route(e, "viewadd", key)
                if handler is None:
                    raise ApiError(405, "Cannot add to %s" % t.name)
                obj = self._parse(body, VIEWS[(t.owner.name, t.name)][0])
                return 201, Writer.write(handler(t.owner_id, obj, query))
            raise ApiError(405, "Method not allowed")
        if t.kind == "view_entity":
            if method == "GET":
                handler = route(e, "viewget", key)
                if handler is not None:
                    return 200, Writer.write(handler(t.owner_id, t.oid, query))
                listed = route(e, "view", key)
                for item in (listed(t.owner_id, query) if listed else []):
                    if item.id == t.oid:
                        return 200, Writer.write(item)
                raise ApiError(404)
            if method == "PUT":
                handler = route(e, "viewupdate", key)
                if handler is None:
                    raise ApiError(405, "Cannot update %s" % t.name)
                obj = self._parse(body, VIEWS[(t.owner.name, t.name)][0])
                return 200, Writer.write(handler(t.owner_id, t.oid, obj, query))
            if method == "DELETE":
                handler = route(e, "viewremove", key)
                if handler is None:
                    raise ApiError(405, "Cannot remove from %s" % t.name)
                handler(t.owner_id, t.oid, query)
                return 200, Writer.write(T.Action(status="complete"))
            raise ApiError(405, "Method not allowed")
        if t.kind == "view_action":
            handler = route(e, "viewaction", (key, t.parent))
            if method != "POST" or handler is None:
                raise ApiError(404)
            action = self._parse(body, T.Action, "action")
            action.correlation_id = headers.get("Correlation-Id") or query.get("correlation_id")
            return 200, Writer.write(handler(t.owner_id, t.oid, action, query))
        raise ApiError(404)

    def _check_parent(self, coll, parent_id):
        self.engine.must(coll.parent, parent_id)

    def _empty_view(self, t):
        self.engine.must(t.owner.name, t.owner_id)
        return []

    # -- follow ---------------------------------------------------------------------------------
    def _follow_all(self, coll, items, query):
        spec = query.get("follow")
        if not spec:
            return items
        return [self._follow(coll, i, spec) for i in items]

    def _follow(self, coll, obj, spec):
        if not spec:
            return obj
        paths = [p.strip() for p in spec.split(",") if p.strip()]
        for path in paths:
            self._follow_one(coll, obj, path.split("."))
        return obj

    def _follow_one(self, coll, obj, parts):
        attr, rest = parts[0], parts[1:]
        c = COLLS.get(coll)
        val = getattr(obj, attr, None) if hasattr(obj, attr) else None
        seg = dict((a, s) for s, a in c.links).get(attr) if c else None
        if seg is not None:
            if isinstance(val, list) and len(val) and val[0].href and getattr(val[0], "name", None) is not None \
                    and not rest:
                return  # already followed (a list of bare references is not: follow replaces it)
            child = CHILD.get((coll, seg))
            if child is not None:
                items = self.engine.list_coll(child.name, obj.id, {})
                child_name = child.name
            elif (coll, seg) in VIEWS:
                handler = route(self.engine, "view", "%s_%s" % (coll, seg))
                items = handler(obj.id, {}) if handler else []
                child_name = _coll_of_type(VIEWS[(coll, seg)][0])
            else:
                items, child_name = [], None
            lst = ovirtsdk4.List(val.href if val is not None else None)
            lst.extend(items)
            setattr(obj, attr, lst)
            if rest and child_name:
                for item in lst:
                    self._follow_one(child_name, item, rest)
            return
        if val is None:
            if c is not None and not hasattr(obj, attr):
                raise ApiError(400, "Invalid follow parameter: '%s' is not a link of %s" % (attr, c.singular))
            return
        if isinstance(val, list):
            target_coll = _coll_of_type(type(val[0])) if val else None
            out = []
            for item in val:
                full = self._fetch_href(item)
                out.append(full)
                if rest and full is not item and target_coll:
                    self._follow_one(target_coll, full, rest)
            setattr(obj, attr, out)
            return
        full = self._fetch_href(val)
        setattr(obj, attr, full)
        if rest and full is not val:
            target = resolve_path(full.href[len(API_PREFIX) + 1:].split("/"))
            if target.coll is not None:
                self._follow_one(target.coll.name, full, rest)

    def _fetch_href(self, ref_obj):
        href = getattr(ref_obj, "href", None)
        if not href or not href.startswith(API_PREFIX + "/"):
            return ref_obj
        t = resolve_path(href[len(API_PREFIX) + 1:].split("/"))
        e = self.engine
        try:
            if t.kind == "entity":
                handler = route(e, "get", t.coll.name)
                return handler(t.parent, t.oid, {}) if handler else e.get_generic(t.coll.name, t.oid, t.parent)
        except ApiError:
            return ref_obj
        return ref_obj


def _coll_of_type(typ):
    for c in COLLS.values():
        if c.type is typ and c.parent is None:
            return c.name
    return None


class RequestLog:
    def __init__(self, limit=200000):
        self.lock = threading.Lock()
        self.entries = []
        self.seq = 0
        self.limit = limit

    def add(self, **entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.entries.append(entry)
            if len(self.entries) > self.limit:
                del self.entries[: len(self.entries) - self.limit]

    def since(self, seq=0):
        with self.lock:
            return [e for e in self.entries if e["seq"] > seq]

    def reset(self):
        with self.lock:
            self.entries = []


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ovirt-engine-sim"
    sys_version = ""
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on keep-alive connections

    def setup(self):
        super().setup()
        self.connection.settimeout(120)

    def log_message(self, fmt, *args):  # quiet: the request log is the record
        pass

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_DELETE(self):
        self._handle("DELETE")

    def do_HEAD(self):
        self._handle("HEAD")

    # -- plumbing --------------------------------------------------------------------------------
    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status, body, ctype="application/xml", extra=None):
        data = body.encode("utf-8") if isinstance(body, str) else (body or b"")
        self.send_response(status)
        self.send_header("Content-Type", ctype + ("; charset=utf-8" if ctype.startswith("application/") else ""))
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        # Headers and body leave in one write: one TLS record, one segment for small answers.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(data)
        self.flush_headers()
        return status

    def _drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _handle(self, method):
        sim = self.server.sim
        started = time.monotonic()
        url = urllib.parse.urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        body = self._read_body()
        status, fault = 0, None
        try:
            if path == SSO_TOKEN and method == "POST":
                status = self._sso_token(body)
            elif path == SSO_LOGOUT and method == "POST":
                status = self._sso_logout(body)
            elif path == HEALTH and method in ("GET", "HEAD"):
                # HealthStatus servlet: no authentication, text/html
                status = self._send(200, "DB Up!Welcome to Health Status!", "text/html")
            elif path == API_PREFIX or path.startswith(API_PREFIX + "/"):
                status, fault = self._api(method, path, query, body)
            elif path == "/sim" or path.startswith("/sim/"):
                status = self._admin(method, path, query, body)
            else:
                status = self._send(404, "", "text/plain")
        except (ConnectionError, ssl.SSLError, socket.timeout):
            status, fault = 0, "client_gone"
            self.close_connection = True
        finally:
            if path.startswith(API_PREFIX) or path.startswith("/ovirt-engine/s"):
                sim.log.add(time=time.time(), method=method, path=path, query=url.query, status=status,
                            duration_ms=round((time.monotonic() - started) * 1000, 3), fault=fault)

    # -- SSO --------------------------------------------------------------------------------------
    def _sso_token(self, body):
        sim = self.server.sim
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
        if form.get("grant_type") != "password":
            return self._send(400, json.dumps({"error_code": "unsupported_grant_type",
                                               "error": "Unsupported grant type"}), "application/json")
        if form.get("username") != sim.username or form.get("password") != sim.password:
            return self._send(400, json.dumps({"error_code": "access_denied",
                                               "error": "Cannot authenticate user '%s': The username or password is "
                                                        "incorrect.." % form.get("username", "")}),
                              "application/json")
        token = sim.issue_token()
        return self._send(200, json.dumps({"access_token": token, "scope": form.get("scope", "ovirt-app-api"),
                                           "exp": str(int(sim.tokens[token] * 1000)), "token_type": "bearer"}),
                          "application/json")

    def _sso_logout(self, body):
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
        self.server.sim.revoke_token(form.get("token"))
        return self._send(200, "{}", "application/json")

    # -- API ----------------------------------------------------------------------------------------
    def _prefer(self):
        """FiltersHelper.getPrefer: the ``Prefer`` header's ``persistent-auth`` and ``new-auth`` elements."""
        words = set()
        for value in self.headers.get_all("Prefer") or []:
            for part in value.split(","):
                words.add(part.split(";")[0].split("=")[0].strip().lower())
        return words

    def _session_cookie(self):
        for value in self.headers.get_all("Cookie") or []:
            for part in value.split(";"):
                name, dummy, val = part.strip().partition("=")
                if name == "JSESSIONID":
                    return val
        return None

    def _api(self, method, path, query, body):
        sim = self.server.sim
        # VersionFilter: /v4 in the path, else the Version header, else the default (4); others are a 400
        segs = [s for s in path[len(API_PREFIX):].split("/") if s]
        versioned = bool(segs) and segs[0][:1] == "v" and segs[0][1:].isdigit()
        version = segs[0][1:] if versioned else (self.headers.get("Version") or "4").strip()
        if versioned:
            segs = segs[1:]
        if version != "4":
            return self._send(400, "", "text/html"), "unsupported_version"
        # Sessions (RestApiSessionValidationFilter / RestApiSessionMgmtFilter): with ``Prefer: persistent-auth``
        # the request's engine session is kept in an HTTP session (JSESSIONID cookie) that later requests may
        # use instead of credentials; a request without it (or with ``new-auth``) drops the HTTP session.
        prefer = self._prefer()
        persistent = "persistent-auth" in prefer
        cookie = self._session_cookie()
        sessions = self.server.sessions
        if cookie and (not persistent or "new-auth" in prefer):
            sessions.pop(cookie, None)
            cookie = None
        auth = self.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.startswith("Bearer ") else None
        basic = False
        if token is None and auth.startswith("Basic "):
            try:
                user, dummy, pw = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                user = pw = None
            token = sim.issue_token() if (user == sim.username and pw == sim.password) else None
            basic = token is not None
        if token is None and cookie and cookie in sessions:
            token = sessions[cookie]
        if not sim.token_valid(token):
            if cookie:
                sessions.pop(cookie, None)
            return self._send(401, Writer.write(T.Fault(reason="Unauthorized", detail="Invalid or expired token")),
                              extra={"WWW-Authenticate": 'Bearer realm="ovirt"'}), "unauthorized"
        extra = {}
        if persistent and (cookie is None or sessions.get(cookie) != token):
            cookie = secrets.token_urlsafe(24)
            sessions[cookie] = token
            extra["Set-Cookie"] = "JSESSIONID=%s; Path=/ovirt-engine/api; Secure; HttpOnly" % cookie
        elif basic and not persistent:
            # a Basic-authenticated request without persistence logs its engine session out afterwards
            self._revoke_after = token
        fault = sim.pick_api_fault(method, path)
        if fault is not None:
            kind = fault["kind"]
            if kind == "latency":
                time.sleep(float(fault.get("delay_ms", 100)) / 1000.0)
            elif kind == "http_status":
                code = int(fault.get("status", 503))
                return self._send(code, "<html><body><h1>%d Service Unavailable</h1></body></html>" % code,
                                  "text/html"), "http_%d" % code
            elif kind == "drop_connection" and fault.get("when", "before") == "before":
                self._drop()
                return 0, "drop_before"
        try:
            status, xml = sim.api.handle("GET" if method == "HEAD" else method, segs, query, body, self.headers)
        except ApiError as err:
            status = err.status
            xml = fault_xml(err) if (err.detail or err.status != 404) else ""
        except SearchError as err:
            status, xml = 400, fault_xml(ApiError(400, "[%s]" % err))
        except Exception as err:  # noqa: BLE001 - a simulator bug: answer like the Engine's generic 500
            import sys
            import traceback
            traceback.print_exc(file=sys.stderr)
            status, xml = 500, fault_xml(ApiError(500, "%s: %s" % (type(err).__name__, err),
                                                  reason="Internal Server Error"))
        finally:
            revoke = getattr(self, "_revoke_after", None)
            if revoke:
                self._revoke_after = None
                sim.revoke_token(revoke)
        if fault is not None and fault["kind"] == "drop_connection":
            self._drop()
            return 0, "drop_after"
        if not xml:
            return self._send(status, "", "text/plain", extra), None
        if versioned:  # Current.getAbsolutePath: links keep the version given in the URL
            xml = xml.replace('href="%s/' % API_PREFIX, 'href="%s/v4/' % API_PREFIX)
        if self._wants_json():
            from .jsonwire import xml_to_json
            return self._send(status, xml_to_json(xml), "application/json", extra), None
        return self._send(status, xml, extra=extra), None

    def _wants_json(self):
        """JAX-RS content negotiation between the API's two media types, by the Accept header's order/q."""
        best, best_q = "xml", -1.0
        for i, part in enumerate((self.headers.get("Accept") or "").split(",")):
            media, dummy, params = part.strip().partition(";")
            media = media.strip().lower()
            q = 1.0
            for param in params.split(";"):
                k, dummy, v = param.strip().partition("=")
                if k == "q":
                    try:
                        q = float(v)
                    except ValueError:
                        q = 0.0
            kind = "json" if media == "application/json" else "xml" if media in ("application/xml", "text/xml") \
                else None
            if kind and q > best_q:
                best, best_q = kind, q
        return best == "json"

    # -- admin ------------------------------------------------------------------------------------
    def _admin(self, method, path, query, body):
        sim = self.server.sim
        if method == "GET" and path.rstrip("/") == "/sim/metrics":  # a scrape target, like an exporter: no auth
            return self._send(200, sim.metrics_text(), "text/plain; version=0.0.4")
        auth = self.headers.get("Authorization", "")
        ok = False
        if auth.startswith("Basic "):
            try:
                user, dummy, pw = base64.b64decode(auth[6:]).decode().partition(":")
                ok = user == sim.username and pw == sim.password
            except ValueError:
                ok = False
        if not ok:
            return self._send(401, json.dumps({"error": "admin API needs HTTP basic auth with the engine "
                                                        "username and password"}), "application/json",
                              {"WWW-Authenticate": 'Basic realm="ovirt-engine-sim"'})
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError as exc:
            return self._send(400, json.dumps({"error": "invalid JSON: %s" % exc}), "application/json")
        try:
            code, out = sim.admin(method, path[len("/sim"):].strip("/"), query, data)
        except ApiError as err:
            code, out = err.status, {"error": err.detail or err.reason}
        except (ValueError, KeyError, TypeError) as exc:
            code, out = 400, {"error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - e.g. qemu-nbd failing to start: answer, never drop the connection
            code, out = 500, {"error": "%s: %s" % (type(exc).__name__, exc)}
        return self._send(code, json.dumps(out, default=str), "application/json")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, sim, ssl_context):
        self.sim = sim
        self.sessions = {}          # JSESSIONID -> SSO token (Prefer: persistent-auth)
        self.ssl_context = ssl_context
        family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        self.address_family = family
        super().__init__(addr, Handler)

    def get_request(self):
        return self.socket.accept()

    def finish_request(self, request, client_address):
        try:
            request.settimeout(30)
            first = request.recv(1, socket.MSG_PEEK)
            if first and first != b"\x16":  # not a TLS handshake: plain HTTP on the HTTPS port
                self._redirect_plain(request)
                return
            request = self.ssl_context.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
            request.do_handshake()
        except (ssl.SSLError, OSError):
            try:
                request.close()
            except OSError:
                pass
            return
        try:
            super().finish_request(request, client_address)
        finally:
            self.shutdown_request(request)  # the TLS socket (the caller only knows the raw one)

    def _redirect_plain(self, sock):
        """http:// to the Engine is sent to https:// (the Engine's web apps require a confidential
        transport); here both arrive on one port, so a plain request gets a 302 to the same URL over TLS."""
        try:
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            lines = data.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            target = parts[1] if len(parts) >= 2 else "/"
            host = next((ln.split(":", 1)[1].strip() for ln in lines[1:] if ln.lower().startswith("host:")), None)
            if not host:
                addr = self.server_address
                host = "%s:%d" % ("[%s]" % addr[0] if ":" in addr[0] else addr[0], addr[1])
            location = "https://%s%s" % (host, target)
            body = ("<html><head><title>302 Found</title></head><body><h1>Found</h1><p>The document has moved "
                    "<a href=\"%s\">here</a>.</p></body></html>" % location).encode()
            sock.sendall(b"HTTP/1.1 302 Found\r\nLocation: " + location.encode("latin-1") +
                         b"\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Length: " +
                         str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        except OSError:
            pass
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):  # no tracebacks for clients hanging up
        import sys
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, socket.timeout, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


def new_token():
    return secrets.token_urlsafe(48)
