# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The connection option. Its argument spec is ENGINE_ARGUMENT_SPEC in plugins/module_utils/engine.py:
    # change both together.
    DOCUMENTATION = r"""
options:
  auth:
    description:
      - How to reach and log in to the Engine.
      - Set it once for every module with C(module_defaults) for C(group/sre.ovirt.engine).
      - Each suboption falls back to an environment variable, the ones AWX's Red Hat Virtualization
        credential injects, so under AWX O(auth) can be left out.
      - Then to the ini file named by the environment variable C(OVIRT_INI_PATH), section C([ovirt]), keys
        C(ovirt_url), C(ovirt_username), C(ovirt_password), C(ovirt_ca_file) and C(ovirt_insecure). AWX's Red Hat
        Virtualization credential writes that file and sets C(OVIRT_INI_PATH), C(OVIRT_URL), C(OVIRT_USERNAME)
        and C(OVIRT_PASSWORD); its I(CA File) reaches only the ini file, so the CA is read from there when
        neither O(auth.ca_file) nor C(OVIRT_CAFILE) is set.
      - To log in once for a whole play, run M(sre.ovirt.auth) first and set O(auth) to the fact it returns.
      - TLS certificates are always verified unless O(auth.insecure=true). Without O(auth.ca_file), the
        system's trust store is used.
    type: dict
    suboptions:
      url:
        description:
          - API URL, for example V(https://engine.example.com/ovirt-engine/api).
          - Environment variable C(OVIRT_URL).
        type: str
      username:
        description:
          - User, for example V(admin@internal). Environment variable C(OVIRT_USERNAME).
        type: str
      password:
        description:
          - Password of O(auth.username). Environment variable C(OVIRT_PASSWORD).
        type: str
      token:
        description:
          - An SSO token to use instead of O(auth.username) and O(auth.password); it is never revoked by the
            module. Environment variable C(OVIRT_TOKEN).
          - M(sre.ovirt.auth) logs in and returns one (fact C(sre_ovirt_auth)), and revokes it with
            O(sre.ovirt.auth#module:state=absent).
        type: str
      ca_file:
        description:
          - PEM file of the CA that signed the Engine's certificate. Environment variable C(OVIRT_CAFILE), else
            C(ovirt_ca_file) in the C(OVIRT_INI_PATH) file.
        type: path
      insecure:
        description:
          - Skip TLS verification. Only for labs; an explicit opt-in. Environment variable C(OVIRT_INSECURE),
            else C(ovirt_insecure) in the C(OVIRT_INI_PATH) file.
        type: bool
      timeout:
        description: Seconds one HTTP request may take.
        type: int
        default: 60
notes:
  - Transient failures (HTTP 502/503/504, other 5xx on reads, broken connections on reads, and 409 answers
    saying an object is locked) are retried with exponential backoff and full jitter, up to 6 attempts or 90
    seconds. A POST, PUT or DELETE whose connection broke after sending is never blindly resent; the module
    reads the object's state first.
requirements:
  - ovirt-engine-sdk-python >= 4.6
"""
