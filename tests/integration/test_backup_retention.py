# SPDX-License-Identifier: GPL-3.0-or-later
"""Retention against the simulator: months of nightly backups on the Engine's (advanced) clock, then
sre.ovirt.backup_retention through ansible-playbook. What remains is checked against the rules computed here from the
points' dates, every remaining point against the guest-visible checksum the simulator reported when it was taken.

The backups run the module directly (a playbook would cost ~4 s more each); every 30 nights and at the end the
same policy is applied to an S3 bucket (a local moto server) too. The span is SRE_OVIRT_RETENTION_NIGHTS nights,
default 45 (from 28 November: two month ends and a year end, six week ends, the dailies) to keep `make test`
short; run it with 365 for the whole year."""

import datetime
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

import pytest
from ovirtsdk4 import types

from ovirt_engine_sim.testing import poll
from tests.integration.harness import run_playbook
from tests.support.collection import REPO, ansible_env, collections_path
from tests.support.s3 import start_s3
from tests.support.sli_history import _ledger_class, seed

sys.path.insert(0, collections_path())
from ansible_collections.sre.ovirt.plugins.module_utils.backup import images  # noqa: E402

MIB, GIB = 1 << 20, 1 << 30
NIGHTS = int(os.environ.get("SRE_OVIRT_RETENTION_NIGHTS", "45"))
POLICY = {"keep_daily": 7, "keep_weekly": 4, "keep_monthly": 12}
PYTHON = os.path.join(REPO, ".venv", "bin", "python")


def make_vm(sim, name):
    """A VM with one 16 MiB disk with incremental backup."""
    conn = sim.connection()
    try:
        vms = conn.system_service().vms_service()
        vm = vms.add(types.Vm(name=name, cluster=types.Cluster(name="Default"), template=types.Template(name="Blank"),
                              memory=GIB))
        svc = vms.vm_service(vm.id)
        poll(svc.get, lambda v: v.status.value == "down")
        svc.disk_attachments_service().add(types.DiskAttachment(
            disk=types.Disk(name=name + "_data", provisioned_size=16 * MIB, format=types.DiskFormat.COW,
                            backup=types.DiskBackup.INCREMENTAL, storage_domains=[types.StorageDomain(name="data-nfs")]),
            interface=types.DiskInterface.VIRTIO_SCSI, bootable=True, active=True))
        poll(lambda: [a.disk for a in svc.disk_attachments_service().list(follow="disk")],
             lambda ds: ds and all(d.status.value == "ok" for d in ds))
        return vm.id
    finally:
        conn.close()


def nightly(sim, name, repo, night):
    """Advance the Engine's clock to the next 02:00 UTC, write into the guest, back up; (point, guest sha256)."""
    now = sim.advance(0)["now"]
    sim.advance(86400 - (now - 2 * 3600) % 86400)
    sim.admin("POST", "/vms/%s/disks/%s_data/write" % (name, name),
              {"offset": (night * 64 * 1024) % (16 * MIB), "length": 64 * 1024, "pattern": night % 250 + 1})
    env = ansible_env(sim)
    env["PYTHONPATH"] = collections_path()
    fd, args = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump({"ANSIBLE_MODULE_ARGS": {"name": name, "repository": repo}}, f)
    try:
        proc = subprocess.run([PYTHON, "-m", "ansible_collections.sre.ovirt.plugins.modules.vm_backup", args],
                              env=env, capture_output=True, text=True, check=False)
    finally:
        os.remove(args)
    out = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert not out.get("failed"), out.get("msg")
    return out["point"], sim.admin("GET", "/vms/%s/disks/%s_data/checksum" % (name, name))["sha256"]


def retention(sim, repo, check=False, env=None, **extra):
    args = dict(POLICY, repository=repo)
    args.update(extra)
    run = run_playbook(sim, [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Retention", "sre.ovirt.backup_retention": args}]}], check=check, diff=check, env=env)
    assert run.rc == 0, run.stdout[-4000:]
    return run, run.results("Retention")[0]


def expected(dates):
    """The rules computed independently: the newest point of the 7 newest days, 4 newest ISO weeks, 12 newest
    months (one nightly point a day, so a day is its point)."""
    keep = set(dates[-7:])
    for count, key in ((4, lambda d: d.isocalendar()[:2]), (12, lambda d: (d.year, d.month))):
        newest = {}
        for d in dates:
            newest[key(d)] = max(newest.get(key(d), d), d)
        keep.update(sorted(newest.values())[-count:])
    return keep


def day(point_id):
    return datetime.datetime.strptime(point_id[:8], "%Y%m%d").date()


def points_dir(repo, vm_id):
    return os.path.join(repo, "vms", vm_id, "points")


def manifests(repo, vm_id):
    d = points_dir(repo, vm_id)
    return [json.load(open(os.path.join(d, p, "manifest.json"))) for p in sorted(os.listdir(d))]


def checkpoints(sim, vm_id):
    conn = sim.connection()
    try:
        return [c.id for c in conn.system_service().vms_service().vm_service(vm_id).checkpoints_service().list()]
    finally:
        conn.close()


def offsite(sim, repo, s3):
    """The same policy on the bucket: upload what it lacks (merged points again), then remove what the policy drops."""
    run = run_playbook(sim, [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Offsite", "sre.ovirt.backup_offsite": {"repository": repo, "bucket": "nightly",
                                                         "retention": POLICY}}]}], env=s3.env())
    assert run.rc == 0, run.stdout[-4000:]
    return run.results("Offsite")[0]


def bucket_points(s3, vm_id):
    """{point id: {file name: sha256 metadata}} of the complete points (with a manifest) in the bucket."""
    client = s3.client()
    out = {}
    prefix = "vms/%s/points/" % vm_id
    for page in client.get_paginator("list_objects_v2").paginate(Bucket="nightly", Prefix=prefix):
        for obj in page.get("Contents", []):
            point, name = obj["Key"][len(prefix):].split("/", 1)
            out.setdefault(point, {})[name] = client.head_object(Bucket="nightly", Key=obj["Key"])["Metadata"].get(
                "sha256")
    return dict((p, files) for p, files in out.items() if "manifest.json" in files)


@pytest.fixture(scope="module")
def s3():
    work = tempfile.mkdtemp(prefix="sre-ovirt-retention-s3-")
    try:
        with start_s3(work) as server:
            server.client().create_bucket(Bucket="nightly")
            yield server
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def year(sim, s3):
    repo = tempfile.mkdtemp(prefix="sre-ovirt-retention-")
    vm_id = make_vm(sim, "nightly")
    # the first night is the next 28 November, whatever the day the test runs: the span's boundaries are known
    now = datetime.datetime.fromtimestamp(sim.advance(0)["now"], datetime.timezone.utc)
    first = datetime.datetime(now.year, 11, 28, 2, tzinfo=datetime.timezone.utc)
    if first - datetime.timedelta(hours=1) <= now:
        first = first.replace(year=now.year + 1)
    sim.advance((first - now).total_seconds() - 3600)
    sums, taken, t0 = {}, [], time.time()
    for night in range(NIGHTS):
        point, sha = nightly(sim, "nightly", repo, night)
        sums[point] = sha
        taken.append(point)
        if night % 30 == 29 and night < NIGHTS - 1:       # a monthly job keeps the chain short on the way
            retention(sim, repo)
            offsite(sim, repo, s3)                          # and the bucket follows, by the same policy
    yield sim, repo, vm_id, sums, taken, time.time() - t0
    shutil.rmtree(repo, ignore_errors=True)


def test_check_mode_lists_exactly_what_would_go_and_changes_nothing(year):
    sim, repo, vm_id, sums, taken, _seconds = year
    before = sorted(os.listdir(points_dir(repo, vm_id)))
    cps = checkpoints(sim, vm_id)
    run, res = retention(sim, repo, check=True)
    assert res["changed"] and run.mutating() == []
    assert sorted(os.listdir(points_dir(repo, vm_id))) == before and checkpoints(sim, vm_id) == cps
    vm = res["vms"][0]
    want = expected(sorted(day(p) for p in before))
    assert sorted(day(k["id"]) for k in vm["kept"]) == sorted(want)
    assert sorted([k["id"] for k in vm["kept"]] + [r["id"] for r in vm["removed"]]) == before
    assert vm["consolidated"] and all(c["id"] in [k["id"] for k in vm["kept"]] for c in vm["consolidated"])
    assert res["diff"]["after"]["nightly"] == [k["id"] for k in vm["kept"]]


def test_exactly_the_expected_points_remain_and_each_restores_its_checksum(year, s3):
    sim, repo, vm_id, sums, taken, seconds = year
    print("%d nightly backups (with retention every 30 nights) took %.0f s" % (len(taken), seconds))
    run, res = retention(sim, repo)
    assert res["changed"]
    remaining = manifests(repo, vm_id)
    dates = sorted(day(p) for p in taken)
    assert sorted(day(m["id"]) for m in remaining) == sorted(expected(dates))
    if NIGHTS == 45:        # 28 Nov to 11 Jan: the month ends, ISO weeks 2026-W52, W53, 2027-W01, W02, 7 dailies
        assert [day(m["id"]).strftime("%m-%d") for m in remaining] == [
            "11-30", "12-27", "12-31", "01-03", "01-05", "01-06", "01-07", "01-08", "01-09", "01-10", "01-11"]
    # every chain is whole and every point reads as the disk read when it was taken
    ids = [m["id"] for m in remaining]
    assert remaining[0]["type"] == "full" and remaining[0]["parent"] is None
    for m in remaining:
        assert m["parent"] is None or m["parent"] in ids
        disk = m["disks"][0]
        path = os.path.join(points_dir(repo, vm_id), m["id"], disk["file"])
        assert images.file_sha256(path) == disk["file_sha256"]
        assert images.guest_sha256(path) == sums[m["id"]], m["id"]
    # the bucket, by the same policy, ends with the same points, byte for byte
    offsite(sim, repo, s3)
    remote = bucket_points(s3, vm_id)
    assert sorted(remote) == ids
    for m in remaining:
        assert remote[m["id"]][m["disks"][0]["file"]] == m["disks"][0]["file_sha256"]
    # the Engine keeps exactly the checkpoints from the oldest remaining point's on (one per backup since)
    cps = checkpoints(sim, vm_id)
    assert taken[0] not in ids and remaining[0]["checkpoint_id"] in cps
    assert len(cps) == len(taken) - taken.index(remaining[0]["id"])


def test_a_second_run_changes_nothing_and_sends_nothing(year):
    sim, repo, vm_id, _sums, _taken, _seconds = year
    before = sorted(os.listdir(points_dir(repo, vm_id)))
    run, res = retention(sim, repo)
    assert not res["changed"] and run.mutating() == []
    assert sorted(os.listdir(points_dir(repo, vm_id))) == before


def test_the_oldest_point_restores_through_vm_restore(year):
    sim, repo, vm_id, sums, _taken, _seconds = year
    oldest = manifests(repo, vm_id)[0]["id"]
    run = run_playbook(sim, [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Restore", "sre.ovirt.vm_restore": {"repository": repo, "vm": "nightly", "point": oldest,
                                                     "name": "nightly-oldest", "verify": True}}]}])
    assert run.rc == 0, run.stdout[-3000:]
    assert all(d["verified"] for d in run.results("Restore")[0]["disks"])
    assert sim.admin("GET", "/vms/nightly-oldest/disks/nightly_data/checksum")["sha256"] == sums[oldest]


def test_a_spent_budget_never_blocks_retention(year, tmp_path):
    sim, repo, vm_id, sums, taken, _seconds = year
    for night in range(2):
        point, sums[point] = nightly(sim, "nightly", repo, NIGHTS + night)
    assert manifests(repo, vm_id)[-1]["type"] == "incremental"     # the chain goes on after retention
    ledger = str(tmp_path / "sli.sqlite")
    now = time.time()
    seed(ledger, now)
    book = _ledger_class()(ledger)
    try:    # two hours of VM downtime just now: the availability budget is spent
        book.record_many([("vm_up", 0.0, now - 60, 7200.0, "x", None)])
    finally:
        book.close()
    env = {"SRE_OVIRT_SLO_POLICY": json.dumps({"ledger_path": ledger, "cache_ttl": 0})}
    run, res = retention(sim, repo, env=env)
    assert res["changed"] and res["slo_gate"]["outcome"] == "protection"
    assert "vm-availability" in res["slo_gate"]["blocking"]
    db = sqlite3.connect(ledger)
    try:
        log = db.execute("SELECT outcome, change_class, module FROM gate_log").fetchall()
    finally:
        db.close()
    assert ("protection", "protection", "sre.ovirt.backup_retention") in log


def test_a_vm_gone_from_the_engine_keeps_its_policy_and_skips_checkpoints(sim):
    repo = tempfile.mkdtemp(prefix="sre-ovirt-retention-gone-")
    try:
        vm_id = make_vm(sim, "gone")
        taken = [nightly(sim, "gone", repo, n) for n in range(3)]
        conn = sim.connection()
        try:
            conn.system_service().vms_service().vm_service(vm_id).remove()
        finally:
            conn.close()
        run, res = retention(sim, repo, vm="gone", keep_last=1, keep_daily=0, keep_weekly=0, keep_monthly=0)
        vm = res["vms"][0]
        assert "no longer on the Engine" in vm["note"] and vm["checkpoints_removed"] == []
        assert [k["id"] for k in vm["kept"]] == [taken[-1][0]]
        remaining = manifests(repo, vm_id)
        assert [m["id"] for m in remaining] == [taken[-1][0]] and remaining[0]["type"] == "full"
        path = os.path.join(points_dir(repo, vm_id), remaining[0]["id"], remaining[0]["disks"][0]["file"])
        assert images.guest_sha256(path) == taken[-1][1]
        assert [r for r in run.mutating() if "/checkpoints/" in r["path"]] == []
    finally:
        shutil.rmtree(repo, ignore_errors=True)


def test_bad_options_fail_naming_the_option_before_anything_changes(year):
    sim, repo, vm_id, _sums, _taken, _seconds = year
    before = sorted(os.listdir(points_dir(repo, vm_id)))
    for extra, field, words in (({"keep_within": "3 days"}, "keep_within", "14d"),
                                ({"keep_daily": -1}, "keep_daily", "0 or more"),
                                ({"vm": "nope"}, "vm", "no VM named nope")):
        run = run_playbook(sim, [{"hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "Retention", "sre.ovirt.backup_retention": dict(POLICY, repository=repo, **extra),
             "ignore_errors": True}]}])
        res = run.results("Retention")[0]
        assert res["failed"] and res["field"] == field and words in res["msg"], res
        assert run.mutating() == []
    assert sorted(os.listdir(points_dir(repo, vm_id))) == before
