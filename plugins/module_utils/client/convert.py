# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SDK objects to plain data for module results."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import enum

_SKIP = ("href",)


def to_dict(obj, depth=3):
    """Turn an ``ovirtsdk4`` object into dicts/lists/scalars. Links that were not followed (empty lists
    carrying only an href) are left out; references deeper than ``depth`` keep only id and name."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, datetime.datetime):
        return obj.isoformat()
    if isinstance(obj, list):
        if not obj and getattr(obj, "href", None):
            return None
        return [to_dict(i, depth - 1) for i in obj]
    if not hasattr(obj, "__dict__"):
        return str(obj)
    if depth <= 0:
        out = {}
        for key in ("id", "name"):
            val = getattr(obj, key, None)
            if val is not None:
                out[key] = val
        return out
    out = {}
    for key, val in vars(obj).items():
        name = key[1:] if key.startswith("_") else key
        if name in _SKIP or val is None:
            continue
        conv = to_dict(val, depth - 1)
        if conv is None or conv == [] and getattr(val, "href", None):
            continue
        out[name] = conv
    return out


def statistics_dict(stats):
    """``[Statistic]`` -> ``{name: value}`` (first datum of each)."""
    out = {}
    for s in stats or []:
        if s.values:
            out[s.name] = s.values[0].datum
    return out
