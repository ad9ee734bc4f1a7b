# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The SLOs the collection ships with (OpenSLO ``openslo/v1``), used when a policy names no ``slo_file``.

``ansible-playbook sre.ovirt.slo_report`` prints them; copy this text to a file to change targets.
Latency SLOs are event ratios over histogram buckets (``le``); availability is time-based: every sample
of a VM's state weighs the seconds it covers, so the SLI is VM up time over observed time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DEFAULT_SLOS = """\
apiVersion: openslo/v1
kind: DataSource
metadata:
  name: sre-ovirt
  displayName: sre.ovirt SLI sources
spec:
  type: sre.ovirt
  description: >-
    One of three sources answers each query, chosen by the gate policy: ledger (the embedded SQLite SLI
    ledger), prometheus (PromQL over the HTTP API) or engine (the Engine's events and statistics).
  connectionDetails: {}
---
apiVersion: openslo/v1
kind: SLI
metadata:
  name: vm-availability
  displayName: VM up time over observed time
spec:
  ratioMetric:
    counter: false
    good:
      metricSource:
        metricSourceRef: sre-ovirt
        type: sre.ovirt
        spec:
          ledger: {measurement: vm_up, ge: 1}
          engine: {measurement: vm_up, ge: 1}
          prometheus: sum(sum_over_time(sre_ovirt_vm_up[$window]))
    total:
      metricSource:
        metricSourceRef: sre-ovirt
        type: sre.ovirt
        spec:
          ledger: {measurement: vm_up}
          engine: {measurement: vm_up}
          prometheus: sum(count_over_time(sre_ovirt_vm_up[$window]))
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: vm-availability
  displayName: VM availability > 99.9%
  annotations:
    sre.ovirt/stale-after: 30m
spec:
  description: VM up time / total time over a rolling 30 days.
  service: ovirt-vms
  indicatorRef: vm-availability
  timeWindow:
    - duration: 30d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: 99.9% of VM time up
      target: 0.999
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: vm-boot-time
  displayName: VM boot time < 60 s
spec:
  description: 99% of VM starts reach up within 60 s of the API call.
  service: ovirt-vms
  indicator:
    metadata:
      name: vm-boot-time
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            metricSourceRef: sre-ovirt
            type: sre.ovirt
            spec:
              ledger: {measurement: vm_boot_seconds, le: 60}
              engine: {measurement: vm_boot_seconds, le: 60}
              prometheus: sum(increase(sre_ovirt_vm_boot_seconds_bucket{le="60"}[$window]))
        total:
          metricSource:
            metricSourceRef: sre-ovirt
            type: sre.ovirt
            spec:
              ledger: {measurement: vm_boot_seconds}
              engine: {measurement: vm_boot_seconds}
              prometheus: sum(increase(sre_ovirt_vm_boot_seconds_count[$window]))
  timeWindow:
    - duration: 30d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.99
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: vm-migration-time
  displayName: Live migration < 30 s
spec:
  description: 99% of live migrations complete within 30 s.
  service: ovirt-vms
  indicator:
    metadata:
      name: vm-migration-time
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            metricSourceRef: sre-ovirt
            type: sre.ovirt
            spec:
              ledger: {measurement: vm_migration_seconds, le: 30}
              engine: {measurement: vm_migration_seconds, le: 30}
              prometheus: sum(increase(sre_ovirt_vm_migration_seconds_bucket{le="30"}[$window]))
        total:
          metricSource:
            metricSourceRef: sre-ovirt
            type: sre.ovirt
            spec:
              ledger: {measurement: vm_migration_seconds}
              engine: {measurement: vm_migration_seconds}
              prometheus: sum(increase(sre_ovirt_vm_migration_seconds_count[$window]))
  timeWindow:
    - duration: 30d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.99
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: storage-latency
  displayName: Storage latency P99 < 5 ms
spec:
  description: 99% of storage IOs complete within 5 ms.
  service: ovirt-storage
  indicator:
    metadata:
      name: storage-latency
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            metricSourceRef: sre-ovirt
            type: sre.ovirt
            spec:
              ledger: {measurement: storage_io_seconds, le: 0.005}
              engine: {measurement: storage_io_seconds, le: 0.005}
              prometheus: sum(increase(sre_ovirt_storage_io_seconds_bucket{le="0.005"}[$window]))
        total:
          metricSource:
            metricSourceRef: sre-ovirt
            type: sre.ovirt
            spec:
              ledger: {measurement: storage_io_seconds}
              engine: {measurement: storage_io_seconds}
              prometheus: sum(increase(sre_ovirt_storage_io_seconds_count[$window]))
  timeWindow:
    - duration: 30d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.99
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: engine-api-latency
  displayName: Engine API response < 2 s
spec:
  description: 99% of Engine API requests answer within 2 s.
  service: ovirt-engine
  indicator:
    metadata:
      name: engine-api-latency
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            metricSourceRef: sre-ovirt
            type: sre.ovirt
            spec:
              ledger: {measurement: engine_api_seconds, le: 2}
              prometheus: sum(increase(sre_ovirt_engine_api_seconds_bucket{le="2"}[$window]))
        total:
          metricSource:
            metricSourceRef: sre-ovirt
            type: sre.ovirt
            spec:
              ledger: {measurement: engine_api_seconds}
              prometheus: sum(increase(sre_ovirt_engine_api_seconds_count[$window]))
  timeWindow:
    - duration: 30d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.99
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: backup-freshness
  displayName: Backups younger than 26 h (RPO)
  annotations:
    sre.ovirt/stale-after: 50h
    sre.ovirt/optional: "true"
spec:
  description: >-
    99% of protected-VM time has a good restore point younger than 26 h (a nightly backup plus slack) over a
    rolling 30 days. Fed by sre.ovirt.backup_info (record=true) after each backup run; until then it has no
    data and does not block changes.
  service: ovirt-backups
  indicator:
    metadata:
      name: backup-freshness
    spec:
      ratioMetric:
        counter: false
        good:
          metricSource:
            metricSourceRef: sre-ovirt
            type: sre.ovirt
            spec:
              ledger: {measurement: backup_fresh, ge: 1}
              prometheus: sum(sum_over_time(sre_ovirt_backup_fresh[$window]))
        total:
          metricSource:
            metricSourceRef: sre-ovirt
            type: sre.ovirt
            spec:
              ledger: {measurement: backup_fresh}
              prometheus: sum(count_over_time(sre_ovirt_backup_fresh[$window]))
  timeWindow:
    - duration: 30d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.99
"""
