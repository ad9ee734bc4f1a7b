# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A role's list or dict variable as given by a survey or ``-e key=value``: a list, a scalar, ``a,b``, or JSON/YAML."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.validation import check_type_dict
from ansible.module_utils.six import string_types

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core requires PyYAML
    yaml = None


def _structured(text):
    """``text`` read as JSON, else YAML; None when it is neither."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    if yaml is not None:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            pass
    return None


def as_list(value, sep=","):
    """A list as given: a list stays as it is; ``None`` and ``""`` are ``[]``; a string starting with ``[`` is read
    as JSON or YAML; any other string is split on ``sep``, each part trimmed, empty parts dropped
    (``"web01, web02"`` - ``["web01", "web02"]``); any other scalar or a dict is a list of one."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, string_types):
        text = value.strip()
        if text.startswith("["):
            parsed = _structured(text)
            if not isinstance(parsed, list):
                raise AnsibleFilterError("as_list: %r starts with '[' but is not a JSON or YAML list" % (value,))
            return parsed
        return [part.strip() for part in text.split(sep) if part.strip()] if sep else ([text] if text else [])
    return [value]


def as_dict(value):
    """A dict as given: a dict stays as it is; ``None`` and ``""`` are ``{}``; a string is read as JSON or YAML
    when it starts with ``{``, otherwise as ``key=value`` pairs separated by spaces or commas (the values stay
    strings)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, string_types):
        text = value.strip()
        if not text:
            return {}
        if text.startswith("{"):
            parsed = _structured(text)
            if isinstance(parsed, dict):
                return parsed
            raise AnsibleFilterError("as_dict: %r starts with '{' but is not a JSON or YAML mapping" % (value,))
        try:
            return check_type_dict(text)
        except TypeError:
            pass
    raise AnsibleFilterError("as_dict: %r is not a mapping, JSON or YAML text, or key=value pairs" % (value,))


class FilterModule(object):
    def filters(self):
        return {"as_list": as_list}
