# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Argument spec: WAIT_ARGUMENT_SPEC in plugins/module_utils/engine.py.
    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Wait until the Engine has finished what the task asked for.
      - A wait fails at once when the object reaches a failure state, with the last state and the Engine's
        latest error event for it, and never waits in check mode.
    type: bool
    default: true
  timeout:
    description: Seconds to wait before failing with the last state seen.
    type: int
    default: 600
  poll_interval:
    description:
      - Longest pause between two polls, in seconds. Polls start fast and back off to this, with jitter.
    type: float
    default: 3.0
"""
