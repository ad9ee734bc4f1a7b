# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine client: one SDK connection, retries with jittered backoff for transient failures only,
typed exceptions, and a record of every request with its latency.

No AnsibleModule in here: modules use it through ``_module.EngineModule``; inventory and lookup plugins
can use it directly. The public names are re-exported by ``engine.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import random
import re
import time

try:
    import ovirtsdk4 as sdk
    HAS_SDK = True
except ImportError:  # pragma: no cover - reported by EngineModule
    sdk = None
    HAS_SDK = False

SAFE_METHODS = ("GET", "HEAD")
REJECTED_STATUSES = (502, 503, 504)     # the Engine (or its proxy) refused before acting: safe to resend
LOCKED = re.compile(r"locked|being (created|updated|migrated)|try again", re.IGNORECASE)
ENV = {"url": "OVIRT_URL", "username": "OVIRT_USERNAME", "password": "OVIRT_PASSWORD",
       "ca_file": "OVIRT_CAFILE", "insecure": "OVIRT_INSECURE", "token": "OVIRT_TOKEN"}


# -- exceptions ---------------------------------------------------------------------------------
class EngineError(Exception):
    """Any failure talking to the Engine. ``code`` is the HTTP status when there was one; ``detail`` the
    Engine's fault detail (the text an operator needs)."""

    def __init__(self, message, code=None, detail=None, reason=None):
        super(EngineError, self).__init__(message)
        self.code = code
        self.detail = detail
        self.reason = reason

    def describe(self):
        text = str(self)
        if self.detail and self.detail not in text:
            text = "%s: %s" % (text, self.detail)
        return text


class EngineSettingsError(EngineError):
    def __init__(self, field, message):
        super(EngineSettingsError, self).__init__("%s: %s" % (field, message))
        self.field = field


class EngineAuthError(EngineError):
    pass


class EngineNotFound(EngineError):
    pass


class EngineConflict(EngineError):
    pass


class EngineBadRequest(EngineError):
    pass


class EngineTransientError(EngineError):
    """5xx or a broken connection that retries could not get past."""


class EngineRequestUncertain(EngineError):
    """A POST/PUT/DELETE whose connection broke after it was sent: it may or may not have been applied.
    Re-read the object's state before deciding to send it again."""

    def __init__(self, method, path, cause):
        super(EngineRequestUncertain, self).__init__(
            "%s %s: the connection broke after the request was sent, so it may have been applied (%s)" % (
                method, path, cause))
        self.method, self.path = method, path


class EngineTimeout(EngineError):
    pass


class EngineChangeRefused(EngineError):
    """A change was refused before it reached the Engine (the SLO gate); ``report`` says why."""

    def __init__(self, message, report=None):
        super(EngineChangeRefused, self).__init__(message)
        self.report = report or {}


class EngineFailedState(EngineError):
    pass


def translate(exc):
    """An SDK exception as one of ours (anything else is returned unchanged)."""
    if isinstance(exc, EngineError) or not HAS_SDK or not isinstance(exc, sdk.Error):
        return exc
    fault = getattr(exc, "fault", None)
    detail = getattr(fault, "detail", None) if fault is not None else None
    reason = getattr(fault, "reason", None) if fault is not None else None
    code = getattr(exc, "code", None)
    text = str(exc)
    if isinstance(exc, sdk.AuthError) or code in (401, 403):
        cls = EngineAuthError
    elif isinstance(exc, sdk.NotFoundError) or code == 404:
        cls = EngineNotFound
    elif code == 409:
        cls = EngineConflict
    elif code == 400:
        cls = EngineBadRequest
    elif code is None or code >= 500:
        cls = EngineTransientError
    else:
        cls = EngineError
    return cls(text, code=code, detail=detail, reason=reason)


# -- settings -----------------------------------------------------------------------------------
def _bool(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


class EngineSettings:
    """Connection settings: the ``auth`` option's values, else the OVIRT_* environment."""

    def __init__(self, url=None, username=None, password=None, token=None, ca_file=None, insecure=False,
                 timeout=60, headers=None):
        self.url, self.username, self.password, self.token = url, username, password, token
        self.ca_file, self.insecure, self.timeout, self.headers = ca_file, bool(insecure), timeout, headers

    @classmethod
    def from_auth(cls, auth=None, env=None):
        env = os.environ if env is None else env
        auth = dict((k, v) for k, v in (auth or {}).items() if v is not None)
        values = {}
        for key, var in ENV.items():
            values[key] = auth.get(key, env.get(var) or None)
        values["insecure"] = _bool(values["insecure"]) if values["insecure"] is not None else False
        values["timeout"] = int(auth.get("timeout") or 60)
        values["headers"] = auth.get("headers")
        s = cls(**values)
        s.validate()
        return s

    def validate(self):
        if not self.url:
            raise EngineSettingsError("auth.url", "required (or set OVIRT_URL), e.g. "
                                                  "https://engine.example.com/ovirt-engine/api")
        if not re.match(r"^https?://", self.url):
            raise EngineSettingsError("auth.url", "'%s' is not an http(s) URL" % self.url)
        if not self.token and not (self.username and self.password):
            raise EngineSettingsError("auth", "give username and password (OVIRT_USERNAME, OVIRT_PASSWORD) "
                                              "or a token (OVIRT_TOKEN)")
        if self.ca_file and not os.path.exists(self.ca_file):
            raise EngineSettingsError("auth.ca_file", "%s does not exist" % self.ca_file)


# -- retry policy -------------------------------------------------------------------------------
class RetryPolicy:
    def __init__(self, attempts=6, base=0.2, cap=5.0, deadline=90.0, rng=random.random, sleep=time.sleep):
        self.attempts, self.base, self.cap, self.deadline = attempts, base, cap, deadline
        self.rng, self.sleep = rng, sleep

    def delay(self, attempt):
        """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]."""
        return self.rng() * min(self.cap, self.base * (2 ** (attempt - 1)))

    @staticmethod
    def classify(method, status, error, body=b""):
        """'retry', 'uncertain' or None (final) for one attempt's outcome."""
        safe = method in SAFE_METHODS
        if error is not None:
            return "retry" if safe else "uncertain"
        if status in REJECTED_STATUSES:
            return "retry"
        if status is not None and status >= 500:
            return "retry" if safe else None
        if status == 409 and body and LOCKED.search(body.decode("utf-8", "replace") if isinstance(body, bytes) else body):
            return "retry"
        return None


# -- the client ----------------------------------------------------------------------------------
if HAS_SDK:
    class _Connection(sdk.Connection):
        """The SDK connection, recording every request and retrying transient failures."""

        _MARK = object()

        def __init__(self, client, **kwargs):
            super(_Connection, self).__init__(**kwargs)
            self._client = client

        def send(self, request):
            if request.method in MUTATING_METHODS and self._client.before_mutation is not None:
                hook, self._client.before_mutation = self._client.before_mutation, None
                hook()  # raises EngineChangeRefused to stop the change before the Engine sees it
            return (self._MARK, request, time.monotonic(), super(_Connection, self).send(request))

        def wait(self, context, failed_auth=False):
            if not (isinstance(context, tuple) and context and context[0] is self._MARK):
                return super(_Connection, self).wait(context, failed_auth)
            request, started, inner = context[1], context[2], context[3]
            return self._client._complete(self, request, started, inner)


MUTATING_METHODS = ("POST", "PUT", "DELETE")


class EngineClient:
    """``before_mutation``: called once, before the first POST/PUT/DELETE (the SLO gate hooks in here)."""

    def __init__(self, settings, policy=None, before_mutation=None):
        self.settings = settings
        self.policy = policy or RetryPolicy()
        self.before_mutation = before_mutation
        self.request_log = []
        self._connection = None

    @property
    def connection(self):
        if self._connection is None:
            s = self.settings
            kwargs = dict(url=s.url, insecure=s.insecure, ca_file=s.ca_file, timeout=s.timeout,
                          headers=s.headers)
            if s.token:
                kwargs["token"] = s.token
            else:
                kwargs.update(username=s.username, password=s.password)
            self._connection = _Connection(self, **kwargs)
        return self._connection

    def system_service(self):
        return ServiceProxy(self.connection.system_service())

    def close(self):
        if self._connection is not None:
            try:
                self._connection.close(logout=not self.settings.token)
            except Exception:  # noqa: BLE001 - closing must never hide the task's own result
                pass
            self._connection = None

    def _complete(self, conn, request, started, inner):
        attempt = 1
        first = started
        while True:
            response, error = None, None
            try:
                response = sdk.Connection.wait(conn, inner)
            except sdk.AuthError:
                raise
            except sdk.Error as exc:
                error = exc
            status = response.code if response is not None else None
            body = response.body if response is not None else b""
            verdict = self.policy.classify(request.method, status, error, body)
            now = time.monotonic()
            self.request_log.append({"method": request.method, "path": request.path, "status": status,
                                     "seconds": round(now - started, 6), "attempt": attempt,
                                     "error": str(error) if error is not None else None,
                                     "retry": attempt > 1})
            if verdict == "uncertain":
                raise EngineRequestUncertain(request.method, request.path, error)
            out_of_time = now - first > self.policy.deadline or attempt >= self.policy.attempts
            if verdict != "retry" or out_of_time:
                if error is not None:
                    raise EngineTransientError("%s %s failed after %d attempt(s): %s" % (
                        request.method, request.path, attempt, error))
                return response
            self.policy.sleep(self.policy.delay(attempt))
            attempt += 1
            started = time.monotonic()
            inner = sdk.Connection.send(conn, request)

    # -- helpers ---------------------------------------------------------------------------------
    def latest_error_event(self, vm_id=None, host_id=None):
        """The newest error-severity event about a VM or host, as text (None when there is none)."""
        clauses = []
        if vm_id:
            clauses.append("vm.id=%s" % vm_id)
        if host_id:
            clauses.append("host.id=%s" % host_id)
        try:
            events = self.system_service().events_service().list(
                search=" and ".join(clauses + ["severity=error"]), max=1)
        except EngineError:
            return None
        return "event %s: %s" % (events[0].code, events[0].description) if events else None


def quote(value):
    return '"%s"' % str(value).replace("\\", "\\\\").replace('"', '\\"')


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
    clauses = ["name=%s" % quote(name)] + ["%s=%s" % (k, quote(v)) for k, v in extra.items()]
    found = [o for o in collection.list(search=" and ".join(clauses)) if o.name == name]
    if len(found) > 1:
        raise EngineConflict("%s: more than one named %s" % (what, name))
    return found[0] if found else None


class ServiceProxy:
    """Wraps an SDK service: every call raises our typed exceptions, and services it returns are wrapped."""

    def __init__(self, service):
        self._service = service

    def __getattr__(self, name):
        attr = getattr(self._service, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            try:
                out = attr(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - translated or re-raised as is
                raise translate(exc)
            if HAS_SDK and isinstance(out, sdk.service.Service):
                return ServiceProxy(out)
            return out
        return call
