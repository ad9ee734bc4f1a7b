# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Engine's VM statuses, grouped by what a module asks of them. The groups differ on purpose; each says why."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Holds memory and vCPUs on its host: must move, or be stopped, before the host goes to maintenance.
OCCUPYING = ("up", "powering_up", "wait_for_launch", "migrating", "paused", "reboot_in_progress", "unknown",
             "not_responding", "powering_down")
# Lost with its host when the host dies (a VM already powering down is not: it was going down anyway).
LOST_WITH_HOST = tuple(s for s in OCCUPYING if s != "powering_down")
# On, or on its way: the Engine refuses to start it, and state=running is already met or being met.
RUNNING = OCCUPYING + ("restoring_state", "saving_state")
# On its way up: wait for it instead of starting it.
STARTING = ("powering_up", "wait_for_launch", "reboot_in_progress", "restoring_state", "migrating")
