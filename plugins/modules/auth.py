#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: auth
short_description: Log in to the Engine once for a whole play, and log out at its end
version_added: 0.1.0
description:
  - O(state=present) logs in to the Engine's SSO with the user and password of O(auth) (or C(OVIRT_USERNAME) and
    C(OVIRT_PASSWORD), or the C(OVIRT_INI_PATH) file AWX writes) and returns the fact C(sre_ovirt_auth), a
    dictionary to pass as O(auth) to every other module of the collection (C(module_defaults) for
    C(group/sre.ovirt.engine)). The modules then use that one SSO token instead of logging in and out once
    per task.
  - O(state=absent) revokes the token in O(auth.token) (the Engine's SSO logout, as the SDK does it) and sets
    C(sre_ovirt_auth) to an empty dictionary. Put it in an C(always) section so the session ends on failure too.
  - The result holding the token is hidden from every callback and from C(-vvv) output, as if the task had
    C(no_log=true), by the module's action plugin; the token is never written to the task's output.
  - Migrating from C(ovirt.ovirt.ovirt_auth) - the same two states; the fact is C(sre_ovirt_auth) instead of
    C(ovirt_auth) and carries C(url), C(token), C(ca_file), C(insecure) and C(timeout); the connection
    settings go in O(auth) (as for every module of this collection) instead of top-level options; to log out,
    O(auth) is the fact (C(module_defaults) sets it) instead of an C(ovirt_auth) option. TLS is verified unless
    O(auth.insecure=true), also without a CA file (the incumbent turns verification off then).
author:
  - SRE oVirt team (@sre-ovirt)
extends_documentation_fragment:
  - sre.ovirt.engine
  - sre.ovirt.slo_policy.read_only
  - sre.ovirt.attributes
options:
  state:
    description:
      - V(present) logs in and returns the fact; V(absent) revokes the token in O(auth.token).
      - With O(state=present) and a token already in O(auth.token) (or C(OVIRT_TOKEN)) there is nothing to log
        in to; the task sets no fact and returns RV(logged_in=false), and the modules use that token as is.
      - With O(state=absent) and no token, there is nothing to revoke (RV(logged_out=false)).
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    details:
      - Logs in and out in check mode too. A session is not a change to the Engine's configuration, and the
        other modules need it to read what they would change.
  diff_mode:
    support: none
notes:
  - The token is an Engine session. The Engine ends it after its idle timeout (30 minutes without a request by
    default, C(UserSessionTimeOutInterval)); a play that waits longer than that between two requests must log in
    again.
  - Logging out revokes the token for every task still using it, C(async) jobs included; roles wait for their
    jobs before they return.
  - Reports C(changed=false) in both states, as C(ovirt.ovirt.ovirt_auth) does, so that idempotent plays stay
    at C(changed=0).
"""

EXAMPLES = r"""
# One login for a whole block (or play: the same module_defaults and always work at play level)
- name: Patch with one Engine session
  module_defaults:
    group/sre.ovirt.engine:
      auth: "{{ sre_ovirt_auth | default(ovirt_auth | default({}), true) }}"
  block:
    - name: Log in
      sre.ovirt.auth:
        auth: "{{ ovirt_auth | default({}) }}"

    - name: Everything here uses the token
      sre.ovirt.engine_info:
        gather: [hosts]

  always:
    - name: Log out
      sre.ovirt.auth:
        state: absent
      when: sre_ovirt_auth.token is defined

- name: Log in with explicit settings
  sre.ovirt.auth:
    auth:
      url: https://engine.example.com/ovirt-engine/api
      username: admin@internal
      password: "{{ vault_engine_password }}"
      ca_file: /etc/pki/ovirt-engine/ca.pem
"""

RETURN = r"""
ansible_facts:
  description: The fact C(sre_ovirt_auth).
  returned: with O(state=present) when it logged in, and with O(state=absent)
  type: dict
  contains:
    sre_ovirt_auth:
      description:
        - What to pass as O(auth) to the other modules; an empty dictionary after O(state=absent).
      type: dict
      contains:
        url:
          description: The API URL.
          type: str
          sample: https://engine.example.com/ovirt-engine/api
        token:
          description: The SSO token. Never printed.
          type: str
        ca_file:
          description: The CA file used to verify the Engine's certificate (from O(auth.ca_file), C(OVIRT_CAFILE)
            or C(ovirt_ca_file) in the C(OVIRT_INI_PATH) file); V(null) for the system's trust store.
          type: str
          sample: /etc/pki/ovirt-engine/ca.pem
        insecure:
          description: Whether TLS verification is off.
          type: bool
          sample: false
        timeout:
          description: Seconds one HTTP request may take.
          type: int
          sample: 60
logged_in:
  description: Whether this task logged in (false when a token was given already).
  returned: with O(state=present)
  type: bool
logged_out:
  description: Whether a token was revoked.
  returned: with O(state=absent)
  type: bool
engine_requests:
  description: Number of REST API requests this task sent to the Engine (the SSO requests are not counted).
  returned: always
  type: int
"""

from ansible_collections.sre.ovirt.plugins.module_utils._module import EngineModule
from ansible_collections.sre.ovirt.plugins.module_utils.client.connection import EngineSettings
from ansible_collections.sre.ovirt.plugins.module_utils.client.errors import (
    HAS_SDK, EngineError, EngineSettingsError, translate)

if HAS_SDK:
    import ovirtsdk4 as sdk

FACT = "sre_ovirt_auth"


def settings_of(module):
    try:
        return EngineSettings.from_auth(module.params.get("auth"))
    except EngineSettingsError as exc:
        module.fail_json(msg=str(exc), field=exc.field)


def describe_failure(settings, exc):
    """The SDK's error, with where the CA came from when TLS verification failed."""
    exc = translate(exc)
    text = exc.describe() if isinstance(exc, EngineError) else str(exc)
    if not settings.insecure and any(word in text for word in ("SSL", "certificate", "TLS")):
        if settings.ca_file:
            where = "CA file %s (from %s)" % (settings.ca_file, settings.ca_source)
        else:
            where = "the system's trust store (no auth.ca_file, OVIRT_CAFILE or ovirt_ca_file in OVIRT_INI_PATH)"
        text = "TLS verification failed with %s: %s" % (where, text)
    return text


def connect(settings, token=None):
    kwargs = dict(url=settings.url, ca_file=settings.ca_file, insecure=settings.insecure,
                  timeout=settings.timeout, headers=settings.headers)
    if token:
        kwargs["token"] = token
    else:
        kwargs.update(username=settings.username, password=settings.password)
    return sdk.Connection(**kwargs)


def log_in(module, settings):
    if settings.token:
        return {"changed": False, "logged_in": False}
    conn = connect(settings)
    try:
        token = conn.authenticate()
    except Exception as exc:  # noqa: BLE001 - reported once, with the TLS context
        why = describe_failure(settings, exc)
        module.fail_json(msg="log in as %s to %s: %s" % (settings.username, settings.url, why))
    finally:
        conn.close(logout=False)
    fact = {"url": settings.url, "token": token, "ca_file": settings.ca_file, "insecure": settings.insecure,
            "timeout": settings.timeout}
    return {"changed": False, "logged_in": True, "ansible_facts": {FACT: fact}}


def log_out(module, settings):
    out = {"changed": False, "logged_out": False, "ansible_facts": {FACT: {}}}
    if not settings.token:
        return out
    conn = connect(settings, token=settings.token)
    try:
        conn.close(logout=True)
    except Exception as exc:  # noqa: BLE001 - reported once
        module.fail_json(msg="log out from %s: %s" % (settings.url, describe_failure(settings, exc)))
    out["logged_out"] = True
    return out


def main():
    module = EngineModule(
        argument_spec=dict(state=dict(type="str", choices=["present", "absent"], default="present")),
        supports_check_mode=True, waits=False, mutating=False)
    auth = module.params.get("auth") or {}
    if module.params["state"] == "absent" and not (auth.get("token") or "").strip():
        # Nothing to revoke; no settings needed (a play whose login failed still runs its log-out task).
        module.exit_json(changed=False, logged_out=False, ansible_facts={FACT: {}})
    settings = settings_of(module)
    if module.params["state"] == "present":
        module.exit_json(**log_in(module, settings))
    module.exit_json(**log_out(module, settings))


if __name__ == "__main__":
    main()
