# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What users set once: the ``slo_policy`` option (module defaults for ``group/sre.ovirt.engine``) or the
``SRE_OVIRT_SLO_POLICY`` environment variable (JSON, or the path of a YAML/JSON file); its validation and the SLOs it
names. ``SLO_POLICY_ARGUMENT_SPEC`` is documented by the doc fragment sre.ovirt.slo_policy: change both."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.sre.ovirt.plugins.module_utils.slo import spec as slo_spec
from ansible_collections.sre.ovirt.plugins.module_utils.slo.defaults import DEFAULT_SLOS

ENV_POLICY = "SRE_OVIRT_SLO_POLICY"
ENV_LEDGER = "SRE_OVIRT_LEDGER"
DEFAULT_LEDGER = "~/.ansible/sre_ovirt/sli-ledger.sqlite"
CHANGE_CLASSES = ("change", "remediation", "protection")
NO_DATA_ACTIONS = ("block", "warn")

# The argument spec of ``slo_policy``; documented by the doc fragment sre.ovirt.slo_policy. Change both.
POLICY_OPTIONS = dict(
    enabled=dict(type="bool", default=True),
    source=dict(type="str", default="ledger", choices=list(slo_spec.SOURCES)),
    slo_file=dict(type="path"),
    ledger_path=dict(type="path"),
    prometheus_url=dict(type="str"),
    prometheus_ca_file=dict(type="path"),
    pushgateway_url=dict(type="str"),
    on_no_data=dict(type="str", default="block", choices=list(NO_DATA_ACTIONS)),
    warn_below=dict(type="float", default=0.25),
    cache_ttl=dict(type="int", default=60),
    change_class=dict(type="str", default="change", choices=list(CHANGE_CLASSES)),
    break_glass=dict(type="dict", options=dict(reason=dict(type="str"), ticket=dict(type="str"))),
)


class GateError(Exception):
    """The policy or the SLO file is wrong, or a source cannot be read."""

    def __init__(self, message, field=None):
        super(GateError, self).__init__(message)
        self.field = field


class GateRefused(Exception):
    def __init__(self, message, report):
        super(GateRefused, self).__init__(message)
        self.report = report


def resolve(raw):
    """The policy in force: the ``slo_policy`` option's value (unset fields dropped) or, when the option is not
    given, ``SRE_OVIRT_SLO_POLICY``; None when neither sets one or it is disabled."""
    if raw is not None:
        raw = dict((k, v) for k, v in raw.items() if v is not None)
    else:
        raw = policy_from_env()
    if raw is None:
        return None
    policy = normalize(raw)
    return policy if policy["enabled"] else None


def policy_from_env(env=None):
    """The policy in ``SRE_OVIRT_SLO_POLICY`` (JSON text or a file path), or None."""
    env = os.environ if env is None else env
    raw = env.get(ENV_POLICY)
    if not raw:
        return None
    raw = raw.strip()
    if not raw.startswith("{"):
        try:
            with open(os.path.expanduser(raw)) as f:
                raw = f.read()
        except (IOError, OSError) as exc:
            raise GateError("%s names %s, which cannot be read: %s" % (ENV_POLICY, raw, exc), ENV_POLICY)
        try:
            import yaml
            return yaml.safe_load(raw) or {}
        except Exception as exc:  # noqa: BLE001 - any parse error is the user's file
            raise GateError("%s: %s" % (ENV_POLICY, exc), ENV_POLICY)
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise GateError("%s is not valid JSON: %s" % (ENV_POLICY, exc), ENV_POLICY)


def normalize(policy):
    """Fill defaults and validate a policy dict (from module options or the environment)."""
    out = {}
    policy = dict(policy or {})
    unknown = sorted(set(policy) - set(POLICY_OPTIONS))
    if unknown:
        raise GateError("slo_policy: unknown option(s) %s; allowed: %s" % (
            ", ".join(unknown), ", ".join(sorted(POLICY_OPTIONS))), "slo_policy")
    for key, spec in POLICY_OPTIONS.items():
        value = policy.get(key)
        if value is None:
            value = spec.get("default")
        if value is not None and "choices" in spec and value not in spec["choices"]:
            raise GateError("slo_policy.%s: %r is not one of %s" % (key, value, ", ".join(spec["choices"])),
                            "slo_policy." + key)
        out[key] = value
    if out["source"] == "prometheus" and not out["prometheus_url"]:
        raise GateError("slo_policy.prometheus_url is required when source is prometheus",
                        "slo_policy.prometheus_url")
    bg = out.get("break_glass") or {}
    if bg and (not bg.get("reason") or not bg.get("ticket")):
        raise GateError("slo_policy.break_glass needs both reason and ticket", "slo_policy.break_glass")
    if not out["ledger_path"]:
        out["ledger_path"] = os.environ.get(ENV_LEDGER) or DEFAULT_LEDGER
    out["ledger_path"] = os.path.expanduser(out["ledger_path"])
    return out


def load_slos(policy):
    try:
        if policy.get("slo_file"):
            return slo_spec.load_file(policy["slo_file"])
        return slo_spec.load_text(DEFAULT_SLOS, "built-in SLOs")
    except slo_spec.SloSpecError as exc:
        raise GateError(str(exc), "slo_policy.slo_file")


SLO_POLICY_ARGUMENT_SPEC = dict(slo_policy=dict(type="dict", options=POLICY_OPTIONS))
