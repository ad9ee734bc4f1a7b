# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one waiter: poll with a deadline and jitter, fail at once on a failure state."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time

from ansible_collections.sre.ovirt.plugins.module_utils.client.errors import EngineFailedState, EngineTimeout


class WaitInCheckMode(RuntimeError):
    """A programming error: check mode must never wait for a change it did not make."""


def wait_for(fetch, done, failed=None, timeout=600, interval=3.0, jitter=0.2, describe=None, what="the change",
             check_mode=False, latest_error=None, gone_ok=False, first_delay=0.1, immediate=True,
             sleep=time.sleep, clock=time.monotonic, rng=random.random):
    """Call ``fetch()`` until ``done(obj)``; return the last object.

    The first poll is immediate (after ``first_delay`` when ``immediate`` is false: right after an action
    the answer is known to be "not yet"), then the delay grows from ``first_delay`` to ``interval`` (doubling, with
    +/- ``jitter`` share), so fast changes cost few requests and slow ones do not hammer the Engine.
    ``failed(obj)`` true -> EngineFailedState at once, with the last state and (``latest_error()``) the
    Engine's newest error event for the object. ``fetch()`` returning None means the object is gone: done
    when ``gone_ok``, else a failure. Past ``timeout`` seconds -> EngineTimeout with the last state.
    """
    if check_mode:
        raise WaitInCheckMode("wait_for(%s) entered in check mode" % what)
    describe = describe or repr
    deadline = clock() + timeout
    delay = first_delay
    if not immediate:
        sleep(first_delay)
        delay = min(interval, first_delay * 2)
    while True:
        obj = fetch()
        if obj is None and not gone_ok:
            raise EngineFailedState("while waiting for %s: the object disappeared" % what)
        if done(obj):
            return obj
        if failed is not None and obj is not None and failed(obj):
            extra = latest_error() if latest_error else None
            raise EngineFailedState("while waiting for %s: %s%s" % (
                what, describe(obj), "; the Engine says: %s" % extra if extra else ""))
        now = clock()
        if now >= deadline:
            extra = latest_error() if latest_error else None
            raise EngineTimeout("timed out after %ds waiting for %s; last state: %s%s" % (
                timeout, what, describe(obj), "; the Engine says: %s" % extra if extra else ""))
        pause = delay * (1 + jitter * (2 * rng() - 1))
        sleep(max(0.0, min(pause, deadline - now)))
        delay = min(interval, delay * 2)
