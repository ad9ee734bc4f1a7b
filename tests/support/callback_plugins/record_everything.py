# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A notification callback for the secret tests: writes what AWX's callback sends out as job events (results with
their loop items, task arguments, included files' arguments and variables) to $RECORD_EVERYTHING_FILE, so a test
can look for secrets there."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: record_everything
type: notification
short_description: Record every callback argument (tests only)
description: Writes the repr of every object passed to any v2 callback method to a file.
requirements:
  - enabled in callbacks_enabled
options: {}
"""

import os

from ansible.plugins.callback import CallbackBase


def _describe(obj):
    """What ansible-runner puts in a job event: a result's data (loop item included), an included file's
    arguments and variables, a task's arguments as written (at task start)."""
    parts = [repr(obj)]
    for attr in ("_result", "_args", "_vars", "args", "vars"):
        if hasattr(obj, attr):
            parts.append("%s=%r" % (attr, getattr(obj, attr)))
    return " ".join(parts)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "record_everything"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, method, *args, **kwargs):
        path = os.environ.get("RECORD_EVERYTHING_FILE")
        if not path:
            return
        with open(path, "a") as f:
            f.write("%s %s %r\n" % (method, " ".join(_describe(a) for a in args), kwargs))


def _make(name):
    def method(self, *args, **kwargs):
        self._record(name, *args, **kwargs)
    method.__name__ = name
    return method


for _name in ("v2_runner_on_ok", "v2_runner_on_failed", "v2_runner_on_skipped", "v2_runner_on_unreachable",
              "v2_runner_item_on_ok", "v2_runner_item_on_failed", "v2_runner_item_on_skipped",
              "v2_runner_retry", "v2_runner_on_start", "v2_runner_on_async_ok", "v2_runner_on_async_failed",
              "v2_runner_on_async_poll", "v2_playbook_on_task_start", "v2_playbook_on_include",
              "v2_playbook_on_play_start", "v2_playbook_on_handler_task_start", "v2_on_file_diff"):
    setattr(CallbackModule, _name, _make(_name))
