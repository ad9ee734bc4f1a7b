# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Argument spec: SLO_POLICY_ARGUMENT_SPEC (POLICY_OPTIONS) in plugins/module_utils/slo/policy.py.
    DOCUMENTATION = r"""
options:
  slo_policy:
    description:
      - The SLO gate. When set (usually once, in C(module_defaults) for C(group/sre.ovirt.engine)) or given in
        E(SRE_OVIRT_SLO_POLICY) (JSON, or the path of a YAML/JSON file), the module evaluates every SLO before
        its first mutating request and refuses, without touching the Engine, when an error budget is spent.
      - In check mode it fails the same way when the task would change something, saying the change would be
        refused.
      - The measurements the module makes (API latency, boot time) are recorded to the ledger and, when set,
        pushed to the Pushgateway.
    type: dict
    suboptions:
      enabled:
        description: Set to C(false) to switch the gate off for this task.
        type: bool
        default: true
      source:
        description:
          - Where the SLIs are read. C(ledger) is the embedded SQLite SLI ledger, C(prometheus) queries
            O(slo_policy.prometheus_url), C(engine) replays the Engine's events over the window (boots, migrations,
            VM crashes) and its current storage statistics; it has no API latency history.
        type: str
        choices: [ledger, prometheus, engine]
        default: ledger
      slo_file:
        description:
          - An OpenSLO C(openslo/v1) file with the SLOs to enforce. Default, the collection's six SLOs (VM
            availability, VM boot time, live migration time, storage latency, Engine API latency, backup
            freshness).
        type: path
      ledger_path:
        description:
          - The SLI ledger (SQLite). Default, E(SRE_OVIRT_LEDGER) or C(~/.ansible/sre_ovirt/sli-ledger.sqlite).
          - On AWX the job's disk is thrown away after each job; use a path on persistent storage or the
            Prometheus source with a Pushgateway.
        type: path
      prometheus_url:
        description: Base URL of Prometheus (C(https://prometheus:9090)); required when O(slo_policy.source=prometheus).
        type: str
      prometheus_ca_file:
        description: CA bundle to verify Prometheus's certificate.
        type: path
      pushgateway_url:
        description: Also push the collection's own measurements (boot, migration, API latency) to this Pushgateway.
        type: str
      on_no_data:
        description:
          - What an SLO with no data (empty, NaN, stale, or history shorter than its window) does to the gate.
          - C(block) refuses the change, naming the SLO and where the gate looked; C(warn) lets it through.
        type: str
        choices: [block, warn]
        default: block
      warn_below:
        description: Share of the budget left under which an SLO is reported as C(warn).
        type: float
        default: 0.25
      cache_ttl:
        description: Seconds one evaluation is reused by the following tasks of a run.
        type: int
        default: 60
      change_class:
        description:
          - C(change) is refused when any budget is spent. C(remediation) (DR failover, fencing a dead host,
            restarting HA VMs) and C(protection) (taking a backup) pass and are recorded in the ledger's gate
            log.
        type: str
        choices: [change, remediation, protection]
        default: change
      break_glass:
        description:
          - Override a refusal. Needs both a reason and a ticket id; recorded in the ledger and posted to the
            Engine as an audit event (not in check mode).
        type: dict
        suboptions:
          reason:
            description: Why the change cannot wait.
            type: str
          ticket:
            description: The change or incident ticket.
            type: str
"""

    READ_ONLY = r"""
options:
  slo_policy:
    description:
      - Accepted so that C(module_defaults) can set the SLO gate for the whole action group; a read-only module
        never evaluates it and never blocks. Its API latencies are still recorded when a ledger is set.
    type: dict
    suboptions:
      enabled:
        description: Set to C(false) to switch the gate off for this task.
        type: bool
        default: true
      source:
        description:
          - Where the SLIs are read. C(ledger) is the embedded SQLite SLI ledger, C(prometheus) queries
            O(slo_policy.prometheus_url), C(engine) replays the Engine's events over the window (boots, migrations,
            VM crashes) and its current storage statistics; it has no API latency history.
        type: str
        choices: [ledger, prometheus, engine]
        default: ledger
      slo_file:
        description:
          - An OpenSLO C(openslo/v1) file with the SLOs to enforce. Default, the collection's six SLOs (VM
            availability, VM boot time, live migration time, storage latency, Engine API latency, backup
            freshness).
        type: path
      ledger_path:
        description:
          - The SLI ledger (SQLite). Default, E(SRE_OVIRT_LEDGER) or C(~/.ansible/sre_ovirt/sli-ledger.sqlite).
          - On AWX the job's disk is thrown away after each job; use a path on persistent storage or the
            Prometheus source with a Pushgateway.
        type: path
      prometheus_url:
        description: Base URL of Prometheus (C(https://prometheus:9090)); required when O(slo_policy.source=prometheus).
        type: str
      prometheus_ca_file:
        description: CA bundle to verify Prometheus's certificate.
        type: path
      pushgateway_url:
        description: Also push the collection's own measurements (boot, migration, API latency) to this Pushgateway.
        type: str
      on_no_data:
        description:
          - What an SLO with no data (empty, NaN, stale, or history shorter than its window) does to the gate.
          - C(block) refuses the change, naming the SLO and where the gate looked; C(warn) lets it through.
        type: str
        choices: [block, warn]
        default: block
      warn_below:
        description: Share of the budget left under which an SLO is reported as C(warn).
        type: float
        default: 0.25
      cache_ttl:
        description: Seconds one evaluation is reused by the following tasks of a run.
        type: int
        default: 60
      change_class:
        description:
          - C(change) is refused when any budget is spent. C(remediation) (DR failover, fencing a dead host,
            restarting HA VMs) and C(protection) (taking a backup) pass and are recorded in the ledger's gate
            log.
        type: str
        choices: [change, remediation, protection]
        default: change
      break_glass:
        description:
          - Override a refusal. Needs both a reason and a ticket id; recorded in the ledger and posted to the
            Engine as an audit event (not in check mode).
        type: dict
        suboptions:
          reason:
            description: Why the change cannot wait.
            type: str
          ticket:
            description: The change or incident ticket.
            type: str
"""
