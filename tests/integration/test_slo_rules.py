# SPDX-License-Identifier: GPL-3.0-or-later
"""slo_rules: the generated rules pass `promtool check rules`, and `promtool test rules` fires the fast-burn
alert for two hours of VM downtime."""

import os
import subprocess

import yaml

from tests.integration.harness import run_playbook
from tests.support import prometheus as prom

PROMTOOL_TEST = """
rule_files: [%(rules)s]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'sre_ovirt_vm_up{vm="db01"}'
        values: '0x180'
    alert_rule_test:
      - eval_time: 70m
        alertname: SLOBurnRateFast
        exp_alerts:
%(alerts)s
    promql_expr_test:
      - expr: 'slo:sli_error:ratio_rate5m{slo="vm-availability"}'
        eval_time: 70m
        exp_samples:
          - labels: 'slo:sli_error:ratio_rate5m{slo="vm-availability"}'
            value: 1
"""


def test_rules_check_and_fast_burn_fires(sim, tmp_path):
    dest = str(tmp_path / "sre-ovirt-slo.yml")
    play = [{"name": "rules", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Rules", "sre.ovirt.slo_rules": {"dest": dest}}]}]
    check = run_playbook(sim, play, check=True, diff=True)
    assert check.rc == 0 and check.results("Rules")[0]["changed"] and not os.path.exists(dest)
    first = run_playbook(sim, play)
    assert first.rc == 0 and first.results("Rules")[0]["changed"]
    again = run_playbook(sim, play)
    assert again.rc == 0 and not again.results("Rules")[0]["changed"]
    assert first.requests == [] or all("/ovirt-engine/api" not in r["path"] for r in first.requests)

    promtool = prom.binaries()["promtool"]
    out = subprocess.run([promtool, "check", "rules", dest], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout

    rules = yaml.safe_load(open(dest))
    group = [g for g in rules["groups"] if g["name"] == "sre-ovirt-slo-vm-availability"][0]
    fast = [r for r in group["rules"] if r.get("alert") == "SLOBurnRateFast"]
    assert [r["labels"]["long_window"] for r in fast] == ["1h", "6h"]
    alerts = ""
    for r in fast:
        labels = dict(r["labels"])
        alerts += "          - exp_labels: %s\n            exp_annotations: %s\n" % (
            yaml.safe_dump(labels, default_flow_style=True, width=1000).strip(),
            yaml.safe_dump(r["annotations"], default_flow_style=True, width=1000).strip())
    test_file = tmp_path / "test.yml"
    test_file.write_text(PROMTOOL_TEST % {"rules": dest, "alerts": alerts})
    out = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    # And the same test fails when the alert is expected but the VM was up: the rules really decide.
    healthy = str(test_file.read_text()).replace("'0x180'", "'1x180'")
    test_file.write_text(healthy)
    out = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True, text=True, check=False)
    assert out.returncode != 0


BACKUP_TEST = """
rule_files: [%(rules)s]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'sre_ovirt_backup_age_seconds{vm="web1"}'
        values: '72000+60x600'
      - series: 'sre_ovirt_backup_age_seconds{vm="db1"}'
        values: '3600+0x600'
    alert_rule_test:
      - eval_time: 380m
        alertname: BackupTooOld
        exp_alerts: []
      - eval_time: 480m
        alertname: BackupTooOld
        exp_alerts:
          - exp_labels: {vm: web1, slo: backup-freshness, severity: page}
            exp_annotations: %(annotations)s
"""


def test_backup_too_old_pages_for_the_stale_vm_only(sim, tmp_path):
    dest = str(tmp_path / "rules.yml")
    run = run_playbook(sim, [{"name": "rules", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Rules", "sre.ovirt.slo_rules": {"dest": dest}}]}])
    assert run.rc == 0, run.stdout[-2000:]
    rules = yaml.safe_load(open(dest))
    group = [g for g in rules["groups"] if g["name"] == "sre-ovirt-slo-backup-freshness"][0]
    alert = [r for r in group["rules"] if r.get("alert") == "BackupTooOld"][0]
    test_file = tmp_path / "test.yml"
    test_file.write_text(BACKUP_TEST % {"rules": dest, "annotations": yaml.safe_dump(
        alert["annotations"], default_flow_style=True, width=1000).strip()})
    promtool = prom.binaries()["promtool"]
    out = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
