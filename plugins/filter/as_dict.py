# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A role's dict variable as given by a survey or ``-e key=value``: a dict, JSON/YAML text, or key=value pairs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sre.ovirt.plugins.filter.as_list import as_dict


class FilterModule(object):
    def filters(self):
        return {"as_dict": as_dict}
