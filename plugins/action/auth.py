# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of sre.ovirt.auth: runs the module, then hides a result that carries a token.

A module cannot hide its own result (Ansible strips ``_ansible_no_log`` from what a module returns), and
``exit_json`` would mask the token in the fact if the module marked it ``no_log``. The action plugin marks the
result after the module ran: callbacks (stdout at any verbosity, AWX's job events) get the censored copy, while
the fact still reaches the play. Results without a token (a failed log-in, a log-out) stay readable."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

FACT = "sre_ovirt_auth"


class ActionModule(ActionBase):

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        result.update(self._execute_module(module_name="sre.ovirt.auth", module_args=self._task.args,
                                           task_vars=task_vars))
        fact = (result.get("ansible_facts") or {}).get(FACT) or {}
        if fact.get("token"):
            result["_ansible_no_log"] = True
        return result
