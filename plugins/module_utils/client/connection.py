# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine client: one SDK connection, retries with jittered backoff for transient failures only,
typed exceptions, and a record of every request with its latency.

No AnsibleModule in here: modules use it through ``_module.EngineModule``; inventory and lookup plugins
can use it directly. The public names are re-exported by ``engine.py``; errors live in ``client.errors``, searches in
``client.search``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import configparser
import os
import random
import re
import time

from ansible_collections.sre.ovirt.plugins.module_utils.client.errors import (
    HAS_SDK, EngineConflict, EngineError, EngineRequestUncertain, EngineSettingsError, EngineTransientError, translate)
from ansible_collections.sre.ovirt.plugins.module_utils.client.search import all_of, where

if HAS_SDK:
    import ovirtsdk4 as sdk
    import pycurl
else:  # pragma: no cover - reported by EngineModule
    sdk = pycurl = None

SAFE_METHODS = ("GET", "HEAD")
REJECTED_STATUSES = (502, 503, 504)     # usually refused before acting; a create still looks before resending
LOCKED = re.compile(r"locked|being (created|updated|migrated)|try again", re.IGNORECASE)
# "The VM name is already in use, please choose a unique name and try again": not a lock, never retried.
IN_USE = re.compile(r"already (in use|exists)|unique name", re.IGNORECASE)
ENV = {"url": "OVIRT_URL", "username": "OVIRT_USERNAME", "password": "OVIRT_PASSWORD",
       "ca_file": "OVIRT_CAFILE", "insecure": "OVIRT_INSECURE", "token": "OVIRT_TOKEN"}
# AWX's Red Hat Virtualization credential writes an ini file and points OVIRT_INI_PATH at it: section [ovirt] with
# ovirt_url, ovirt_username, ovirt_password and (when its "CA File" is filled in) ovirt_ca_file. It never sets
# OVIRT_CAFILE: the CA reaches only this file. ovirt_insecure is read too (written by hand, never by AWX).
INI_ENV = "OVIRT_INI_PATH"
INI_SECTION = "ovirt"
INI_KEYS = {"url": "ovirt_url", "username": "ovirt_username", "password": "ovirt_password",
            "ca_file": "ovirt_ca_file", "insecure": "ovirt_insecure"}


# -- settings -----------------------------------------------------------------------------------
def _bool(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def read_ini(path):
    """The ``[ovirt]`` section of an OVIRT_INI_PATH file as settings keys (``url``, ``ca_file``...); values as
    written (no interpolation: a password may hold ``%``). A missing section gives ``{}``."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path) as f:
            parser.read_file(f)
    except (IOError, OSError) as exc:
        raise EngineSettingsError(INI_ENV, "cannot read %s: %s" % (path, exc))
    except configparser.Error as exc:
        raise EngineSettingsError(INI_ENV, "%s is not an ini file: %s" % (path, exc))
    if not parser.has_section(INI_SECTION):
        return {}
    out = {}
    for key, option in INI_KEYS.items():
        value = parser.get(INI_SECTION, option, fallback="").strip()
        if value:
            out[key] = value
    return out


class EngineSettings:
    """Connection settings: the ``auth`` option's values, else the OVIRT_* environment, else the ini file
    OVIRT_INI_PATH names (what AWX's Red Hat Virtualization credential writes).

    ``ca_source`` says where ``ca_file`` came from (``auth``, ``OVIRT_CAFILE`` or the ini file), for messages."""

    def __init__(self, url=None, username=None, password=None, token=None, ca_file=None, insecure=False,
                 timeout=60, headers=None, ca_source=None):
        self.url, self.username, self.password, self.token = url, username, password, token
        self.ca_file, self.insecure, self.timeout, self.headers = ca_file, bool(insecure), timeout, headers
        self.ca_source = ca_source if ca_file else None

    @classmethod
    def from_auth(cls, auth=None, env=None):
        env = os.environ if env is None else env
        auth = dict((k, v) for k, v in (auth or {}).items() if v is not None and v != "")
        values, sources = {}, {}
        for key, var in ENV.items():
            if key in auth:
                values[key], sources[key] = auth[key], "auth.%s" % key
            else:
                values[key], sources[key] = env.get(var) or None, var
        ini_path = env.get(INI_ENV) or None
        if ini_path and any(values[key] is None for key in INI_KEYS):
            # Below auth and the OVIRT_* variables: AWX injects OVIRT_URL/USERNAME/PASSWORD too, the same values.
            for key, value in read_ini(ini_path).items():
                if values[key] is None:
                    values[key], sources[key] = value, "%s in %s=%s" % (INI_KEYS[key], INI_ENV, ini_path)
        values["insecure"] = _bool(values["insecure"]) if values["insecure"] is not None else False
        values["timeout"] = int(auth.get("timeout") or 60)
        values["headers"] = auth.get("headers")
        values["ca_source"] = sources["ca_file"]
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
            if self.ca_source and self.ca_source.startswith(INI_KEYS["ca_file"]):
                raise EngineSettingsError(INI_ENV, "%s: %s does not exist" % (self.ca_source, self.ca_file))
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
    def classify(method, status, error, body=b"", creating=False):
        """'retry', 'uncertain' or None (final) for one attempt's outcome.

        ``creating``: the request is a POST that creates an object. Its lost answer or 5xx is 'uncertain' (the
        object may exist): ``EngineClient.create`` looks for it before sending again, never blindly."""
        safe = method in SAFE_METHODS
        if creating and (error is not None or (status is not None and status >= 500)):
            return "uncertain"
        if error is not None:
            return "retry" if safe else "uncertain"
        if status in REJECTED_STATUSES:
            return "retry"
        if status is not None and status >= 500:
            return "retry" if safe else None
        if status == 409 and body:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            if LOCKED.search(text) and not IN_USE.search(text):
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
            return (self._MARK, request, time.monotonic(), self.send_once(request))

        def send_once(self, request):
            """Send through the SDK; a POST/PUT/DELETE on a connection of its own.

            libcurl re-sends a request by itself when a *reused* connection turns out to be closed before any
            answer, which for a POST whose answer was lost means applying it twice. A fresh connection is never
            reused, so libcurl does not re-send it: whether to send again is the client's decision."""
            inner = sdk.Connection.send(self, request)
            if request.method in MUTATING_METHODS:
                curl = inner[0]
                self._multi.remove_handle(curl)
                curl.setopt(pycurl.FRESH_CONNECT, 1)
                curl.setopt(pycurl.FORBID_REUSE, 1)
                self._multi.add_handle(curl)
            return inner

        def wait_once(self, inner):
            """The SDK's answer to one sent request (raises ``sdk.Error`` when there is none)."""
            return sdk.Connection.wait(self, inner)

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
        self._creating = False

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
                response = conn.wait_once(inner)
            except sdk.AuthError:
                raise
            except sdk.Error as exc:
                error = exc
            status = response.code if response is not None else None
            body = response.body if response is not None else b""
            creating = self._creating and request.method == "POST"
            verdict = self.policy.classify(request.method, status, error, body, creating=creating)
            now = time.monotonic()
            self.request_log.append({"method": request.method, "path": request.path, "status": status,
                                     "seconds": round(now - started, 6), "attempt": attempt,
                                     "error": str(error) if error is not None else None,
                                     "retry": attempt > 1})
            if verdict == "uncertain":
                raise EngineRequestUncertain(request.method, request.path, error or _status_text(response),
                                             code=status)
            out_of_time = now - first > self.policy.deadline or attempt >= self.policy.attempts
            if verdict != "retry" or out_of_time:
                if error is not None or (status is not None and status >= 500):
                    raise EngineTransientError("%s %s%s: %s after %d attempt(s) in %.1f s" % (
                        request.method, self.settings.url.rstrip("/"), request.path,
                        error if error is not None else "HTTP %s %s" % (status, _status_text(response)),
                        attempt, now - first), code=status)
                return response
            self.policy.sleep(self.policy.delay(attempt))
            attempt += 1
            started = time.monotonic()
            inner = conn.send_once(request)

    def create(self, add, find, what):
        """Create one object, exactly once, even when an answer is lost.

        ``add()`` sends the POST; ``find()`` returns the object if it exists (else None). When the answer to the
        POST is lost (dropped connection, 5xx) the object is looked for before anything is sent again; a 409
        because it already exists (another client created it at the same moment) converges on that object."""
        attempt = 0
        while True:
            attempt += 1
            self._creating = True
            try:
                return add()
            except EngineRequestUncertain as exc:
                lost = exc
            except EngineConflict as exc:
                found = find() if IN_USE.search(exc.describe()) else None
                if found is None:
                    raise
                return found
            finally:
                self._creating = False
            found = find()
            if found is not None:
                return found
            if attempt >= self.policy.attempts:
                raise EngineTransientError("%s: not created after %d attempt(s), and not found after each: %s" % (
                    what, attempt, lost), code=lost.code)
            self.policy.sleep(self.policy.delay(attempt))

    # -- helpers ---------------------------------------------------------------------------------
    def latest_error_event(self, vm_id=None, host_id=None):
        """The newest error-severity event about a VM or host, as text (None when there is none)."""
        search = all_of(where("vm.id", vm_id) if vm_id else None, where("host.id", host_id) if host_id else None,
                        where("severity", "error"))
        try:
            events = self.system_service().events_service().list(search=search, max=1)
        except EngineError:
            return None
        return "event %s: %s" % (events[0].code, events[0].description) if events else None


def _status_text(response):
    """A short description of a non-XML answer (a proxy's HTML 503 page) for error messages."""
    if response is None:
        return ""
    body = response.body or b""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    m = re.search(r"<title>(.*?)</title>|<h1>(.*?)</h1>", text, re.IGNORECASE | re.DOTALL)
    text = (m.group(1) or m.group(2)) if m else text
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()
    return re.sub(r"^%s\s*" % getattr(response, "code", ""), "", text)[:200]


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
