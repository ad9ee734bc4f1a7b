# SPDX-License-Identifier: GPL-3.0-or-later
"""Proven restores and the RPO: playbooks/backup_verify.yml (file check, restore drill, verified_at, bad points),
backup freshness recorded for the backup-freshness SLO, and the gate's view of each step."""

import json
import os
import shutil
import sqlite3
import tempfile
import time
import urllib.request

import pytest

from tests.integration.harness import run_playbook
from tests.integration.test_backup_restore import DATA, VM, _vm, backup, checksum, make_vm, report, write
from tests.support import prometheus as prom
from tests.support.collection import REPO
from tests.support.sli_history import _ledger_class, seed

VERIFY = os.path.join(REPO, "playbooks", "backup_verify.yml")


def manifests(repo, vm_id):
    folder = os.path.join(repo, "vms", vm_id, "points")
    return [json.load(open(os.path.join(folder, p, "manifest.json"))) for p in sorted(os.listdir(folder))
            if not p.startswith(".")]


@pytest.fixture(scope="module")
def protected(sim):
    vm_id, disks = make_vm(sim)
    repo = tempfile.mkdtemp(prefix="sre-ovirt-verify-")
    write(sim, DATA, 0, 4 << 20, 0x21)
    first = backup(sim, repo)
    assert first.rc == 0, first.stdout[-3000:]
    write(sim, DATA, 64 << 20, 2 << 20, 0x22)
    second = backup(sim, repo)
    assert second.rc == 0, second.stdout[-3000:]
    yield sim, vm_id, repo
    shutil.rmtree(repo, ignore_errors=True)


def test_the_drill_restores_boots_compares_records_and_cleans_up(protected):
    sim, vm_id, repo = protected
    run = run_playbook(sim, VERIFY, extra_vars={"backup_verify_repository": repo})
    assert run.rc == 0, run.stdout[-4000:]
    res = run.results("Restore, compare and boot %s" % VM)[0]
    assert res["how"] == "copy" and all(d["verified"] for d in res["disks"])
    newest = manifests(repo, vm_id)[-1]
    assert newest["verified_at"] == res["verified_at"] and "booted" in newest["verified_how"]
    conn = sim.connection()
    try:
        assert _vm(conn, VM + "-verify") is None                     # the temporary VM is gone, with its disks
        assert not [d for d in conn.system_service().disks_service().list() if d.id in
                    [x["disk_id"] for x in res["disks"]]]
    finally:
        conn.close()
    info = run_playbook(sim, [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Info", "sre.ovirt.backup_info": {"repository": repo, "vm": VM}}]}])
    vm = info.results("Info")[0]["vms"][0]
    assert vm["last_verified_at"] == res["verified_at"] and vm["fresh"]


def test_the_drill_keeps_the_copy_off_every_network(protected):
    sim, vm_id, repo = protected
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Restore", "sre.ovirt.vm_restore": {"repository": repo, "vm": VM, "name": "iso-copy",
                                                     "nics_linked": False}}]}]
    run = run_playbook(sim, play)
    assert run.rc == 0, run.stdout[-3000:]
    conn = sim.connection()
    try:
        copy = _vm(conn, "iso-copy")
        nics = conn.system_service().vms_service().vm_service(copy.id).nics_service().list()
        assert nics and all(n.linked is False for n in nics)
        conn.system_service().vms_service().vm_service(copy.id).remove()
    finally:
        conn.close()


def test_a_damaged_file_is_named_its_point_goes_bad_and_is_never_a_parent(protected):
    sim, vm_id, repo = protected
    points = manifests(repo, vm_id)
    newest = points[-1]
    data = [d for d in newest["disks"] if d["alias"] == DATA][0]
    path = os.path.join(repo, "vms", vm_id, "points", newest["id"], data["file"])
    with open(path, "r+b") as f:                      # flip bytes inside the qcow2 file
        f.seek(os.path.getsize(path) // 2)
        f.write(b"\xde\xad\xbe\xef")
    run = run_playbook(sim, VERIFY, extra_vars={"backup_verify_repository": repo, "backup_verify_boot": "false"})
    assert run.rc != 0
    check = run.results("Check every point's files")[0]
    assert [d["point"] for d in check["damaged"]] == [newest["id"]] and path in check["damaged"][0]["reason"]
    assert run.mutating() == []                                       # no Engine change at all
    marked = manifests(repo, vm_id)[-1]
    assert marked["status"] == "bad" and path in marked["bad_reason"]

    again = backup(sim, repo)                                         # builds on the older good point
    assert again.rc == 0, again.stdout[-3000:]
    r = report(again)[VM]
    assert r["point"] != newest["id"]
    latest = manifests(repo, vm_id)[-1]
    assert latest["parent"] in (None, points[-2]["id"]) and latest["parent"] != newest["id"]
    restore = run_playbook(sim, [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Restore", "sre.ovirt.vm_restore": {"repository": repo, "vm": VM, "name": "after-damage"}}]}])
    assert restore.rc == 0, restore.stdout[-3000:]
    assert restore.results("Restore")[0]["point"] == latest["id"]
    assert checksum(sim, DATA, vm="after-damage") == checksum(sim, DATA)


def test_freshness_is_recorded_for_the_slo_and_pushed(protected, tmp_path):
    sim, vm_id, repo = protected
    ledger = str(tmp_path / "sli.sqlite")
    with prom.start_pushgateway(str(tmp_path)) as pgw:
        policy = {"ledger_path": ledger, "pushgateway_url": pgw.url, "cache_ttl": 0}
        env = {"SRE_OVIRT_SLO_POLICY": json.dumps(policy)}
        run = run_playbook(sim, [{"hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "Info", "sre.ovirt.backup_info": {"repository": repo, "record": True}},
            {"name": "Again", "sre.ovirt.backup_info": {"repository": repo, "record": True}}]}], env=env)
        assert run.rc == 0, run.stdout[-3000:]
        metrics = urllib.request.urlopen(pgw.url + "/metrics", timeout=10).read().decode()
    assert 'sre_ovirt_backup_fresh{instance="",job="sre_ovirt_backup",vm="%s"} 1' % VM in metrics
    assert "sre_ovirt_backup_age_seconds{" in metrics
    db = sqlite3.connect(ledger)
    try:
        rows = db.execute("SELECT value, weight, subject FROM samples WHERE measurement = 'backup_fresh'").fetchall()
    finally:
        db.close()
    assert rows == [(1.0, 86400.0, VM)]                              # recorded once per interval


def test_spent_budget_blocks_the_drill_but_not_the_check_or_a_backup(protected, tmp_path):
    sim, vm_id, repo = protected
    ledger = str(tmp_path / "sli.sqlite")
    now = time.time()
    seed(ledger, now)
    book = _ledger_class()(ledger)
    try:
        book.record_many([("vm_up", 0.0, now - 60, 7200.0, "x", None)])
    finally:
        book.close()
    env = {"SRE_OVIRT_SLO_POLICY": json.dumps({"ledger_path": ledger, "cache_ttl": 0})}
    drill = run_playbook(sim, VERIFY, extra_vars={"backup_verify_repository": repo}, env=env)
    assert drill.rc != 0
    checked = drill.results("Check every point's files")[0]
    assert not checked.get("failed") and checked["checked"] >= 1
    assert "budget spent" in json.dumps(drill.results("Restore, compare and boot %s" % VM))
    assert [r for r in drill.mutating() if "/vms" in r["path"] and r["method"] == "POST"] == []
    ok = backup(sim, repo, vm_backup_slo_policy={"ledger_path": ledger, "cache_ttl": 0})
    assert ok.rc == 0, ok.stdout[-3000:]
