# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The client's typed exceptions, and ``translate()`` from the SDK's."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import ovirtsdk4 as sdk
    HAS_SDK = True
except ImportError:  # pragma: no cover - reported by EngineModule
    sdk = None
    HAS_SDK = False


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

    def __init__(self, method, path, cause, code=None):
        what = "the Engine answered HTTP %s" % code if code else "the connection broke after the request was sent"
        super(EngineRequestUncertain, self).__init__(
            "%s %s: %s, so it may have been applied (%s)" % (method, path, what, cause), code=code)
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
