# SPDX-License-Identifier: GPL-3.0-or-later
"""VM backup and restore with real bytes: playbooks/backup_vms.yml and restore_vm.yml against the simulator, its
imageio daemon and its qcow2 bitmaps. What moved is measured by the simulator (/sim/transfers), what a disk holds
by its guest-visible sha256 (/sim/vms/{vm}/disks/{disk}/checksum)."""

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import time

import pytest
from ovirtsdk4 import types

from ovirt_engine_sim.testing import poll
from tests.integration.harness import run_playbook
from tests.support.collection import REPO
from tests.support.sli_history import _ledger_class, seed

BACKUP = os.path.join(REPO, "playbooks", "backup_vms.yml")
RESTORE = os.path.join(REPO, "playbooks", "restore_vm.yml")
MIB = 1 << 20
GIB = 1 << 30
VM = "app1"
DATA = "app1_data"


def _vm(conn, name):
    found = conn.system_service().vms_service().list(search="name=%s" % name)
    return found[0] if found else None


def make_vm(sim, name=VM, start=True):
    """A VM with a 64 MiB boot disk without incremental backup (it goes through a temporary snapshot) and a
    1 GiB data disk with it."""
    conn = sim.connection()
    try:
        vms = conn.system_service().vms_service()
        vm = vms.add(types.Vm(name=name, cluster=types.Cluster(name="Default"), template=types.Template(name="Blank"),
                              memory=GIB, os=types.OperatingSystem(type="rhel_9x64")))
        svc = vms.vm_service(vm.id)
        poll(svc.get, lambda v: v.status.value == "down")
        for alias, size, mode, boot in ((name + "_boot", 64 * MIB, types.DiskBackup.NONE, True),
                                        (name + "_data", GIB, types.DiskBackup.INCREMENTAL, False)):
            svc.disk_attachments_service().add(types.DiskAttachment(
                disk=types.Disk(name=alias, provisioned_size=size, format=types.DiskFormat.COW, backup=mode,
                                storage_domains=[types.StorageDomain(name="data-nfs")]),
                interface=types.DiskInterface.VIRTIO_SCSI, bootable=boot, active=True))
        svc.nics_service().add(types.Nic(name="nic1", vnic_profile=types.VnicProfile(id=_profile(conn))))
        poll(lambda: [a.disk for a in svc.disk_attachments_service().list(follow="disk")],
             lambda ds: len(ds) == 2 and all(d.status.value == "ok" for d in ds))
        if start:
            svc.start()
            poll(svc.get, lambda v: v.status.value == "up")
        disks = conn.system_service().disks_service()
        return vm.id, {d.alias: d.id for d in disks.list() if d.alias.startswith(name + "_")}
    finally:
        conn.close()


def _profile(conn):
    return [p for p in conn.system_service().vnic_profiles_service().list() if p.name == "ovirtmgmt"][0].id


def write(sim, disk, offset, length, pattern, vm=VM):
    sim.admin("POST", "/vms/%s/disks/%s/write" % (vm, disk),
              {"offset": offset, "length": length, "pattern": pattern})


def checksum(sim, disk, vm=VM):
    return sim.admin("GET", "/vms/%s/disks/%s/checksum" % (vm, disk))["sha256"]


def vm_checksums(sim, vm):
    conn = sim.connection()
    try:
        v = _vm(conn, vm)
        atts = conn.system_service().vms_service().vm_service(v.id).disk_attachments_service().list(follow="disk")
        return {a.disk.alias: checksum(sim, a.disk.alias, vm) for a in atts}
    finally:
        conn.close()


def moved(sim, since_ids, disk_id):
    """Bytes the imageio daemon served for downloads of ``disk_id`` in transfers not in ``since_ids``."""
    return sum(t["bytes"] for t in sim.admin("GET", "/transfers")
               if t["id"] not in since_ids and t.get("disk") == disk_id and t["direction"] == "download")


def transfer_ids(sim):
    return {t["id"] for t in sim.admin("GET", "/transfers")}


def backup(sim, repo, **extra):
    ev = {"vm_backup_repository": repo, "vm_backup_vms": VM}
    ev.update(extra)
    return run_playbook(sim, BACKUP, extra_vars=ev)


def report(run):
    results = run.results("Collect what each backup did")
    assert results, run.stdout[-3000:]
    facts = results[-1]["ansible_facts"]["vm_backup_results"]
    return {r["name"]: r for r in facts}


def restore(sim, repo, point="latest", name=None, check=False, env=None, **extra):
    ev = {"restore_repository": repo, "restore_vm": VM, "restore_point": point}
    if name:
        ev["restore_name"] = name
    ev.update(extra)
    return run_playbook(sim, RESTORE, extra_vars=ev, check=check, diff=check, env=env)


def engine_leftovers(sim, vm_id):
    """Backups not ended, transfers not finished, snapshots other than Active VM: what a run must not leave."""
    conn = sim.connection()
    try:
        vm = conn.system_service().vms_service().vm_service(vm_id)
        backups = [b for b in vm.backups_service().list() if b.phase.value not in ("succeeded", "failed")]
        snaps = [s for s in vm.snapshots_service().list() if s.snapshot_type.value != "active"]
        transfers = [t for t in conn.system_service().image_transfers_service().list()
                     if not t.phase.value.startswith("finished")]
        return backups, snaps, transfers
    finally:
        conn.close()


@pytest.fixture(scope="module")
def estate(sim):
    vm_id, disks = make_vm(sim)
    repo = tempfile.mkdtemp(prefix="sre-ovirt-repo-")
    yield sim, vm_id, disks, repo
    shutil.rmtree(repo, ignore_errors=True)


def test_full_incremental_incremental_and_every_point_restores_exactly(estate):
    sim, vm_id, disks, repo = estate
    write(sim, DATA, 0, 8 * MIB, 0x11)
    write(sim, VM + "_boot", 0, MIB, 0x22)
    sums, points, runs = [], [], []
    for i, (offset, length, pattern) in enumerate([(None, None, None), (512 * MIB, 4 * MIB, 0x33),
                                                   (900 * MIB, 2 * MIB, 0x44)]):
        if offset is not None:
            write(sim, DATA, offset, length, pattern)
        sums.append(checksum(sim, DATA))
        before = transfer_ids(sim)
        run = backup(sim, repo)
        assert run.rc == 0, run.stdout[-4000:]
        r = report(run)[VM]
        assert r["ok"] and r["type"] == ("full" if i == 0 else "incremental"), r
        points.append(r["point"])
        runs.append(moved(sim, before, disks[DATA]))
        assert engine_leftovers(sim, vm_id) == ([], [], [])
    # the daemon served the written data: ~8 MiB for the full, the 4 and 2 MiB writes for the incrementals
    assert 8 * MIB <= runs[0] <= 1.05 * 8 * MIB + MIB, runs
    assert 4 * MIB <= runs[1] <= 1.05 * 4 * MIB, runs
    assert 2 * MIB <= runs[2] <= 1.05 * 2 * MIB, runs
    assert len(set(sums)) == 3
    boot_sum = checksum(sim, VM + "_boot")

    for i, point in enumerate(points):
        run = restore(sim, repo, point=point, name="app1-r%d" % i)
        assert run.rc == 0, run.stdout[-4000:]
        res = run.results("Restore " + VM)[0]
        assert res["how"] == "copy" and res["point"] == point
        assert all(d["verified"] for d in res["disks"]), res["disks"]
        restored = vm_checksums(sim, "app1-r%d" % i)
        assert restored[DATA] == sums[i], (i, restored)
        assert restored[VM + "_boot"] == boot_sum

    manifest = json.load(open(os.path.join(repo, "vms", vm_id, "points", points[2], "manifest.json")))
    assert manifest["type"] == "incremental" and manifest["parent"] == points[1]
    data = [d for d in manifest["disks"] if d["alias"] == DATA][0]
    assert data["backup_mode"] == "incremental" and len(data["file_sha256"]) == 64
    boot = [d for d in manifest["disks"] if d["alias"] != DATA][0]
    assert boot["method"] == "temporary_snapshot" and boot["backup_mode"] == "full"
    assert manifest["configuration"]["ovf"]


def test_restore_in_place_brings_back_the_point(estate):
    sim, vm_id, disks, repo = estate
    expected = checksum(sim, DATA)
    write(sim, DATA, 0, 16 * MIB, 0x99)           # damage after the newest point
    assert checksum(sim, DATA) != expected
    run = backup(sim, repo)                         # a point of the damaged state
    assert run.rc == 0, run.stdout[-3000:]
    points = sorted(os.listdir(os.path.join(repo, "vms", vm_id, "points")))
    good = points[-2]

    check = restore(sim, repo, point=good, check=True)
    assert check.rc == 0, check.stdout[-3000:]
    assert check.mutating() == [], [(r["method"], r["path"]) for r in check.mutating()]

    run = restore(sim, repo, point=good, restore_state="running")
    assert run.rc == 0, run.stdout[-4000:]
    res = run.results("Restore " + VM)[0]
    assert res["how"] == "in_place" and res["vm_id"] == vm_id
    assert vm_checksums(sim, VM)[DATA] == expected
    conn = sim.connection()
    try:
        assert _vm(conn, VM).status.value == "up"
    finally:
        conn.close()


def test_second_run_without_writes_moves_almost_nothing(estate):
    sim, vm_id, disks, repo = estate
    first = backup(sim, repo)
    assert first.rc == 0, first.stdout[-3000:]
    before = transfer_ids(sim)
    second = backup(sim, repo)
    assert second.rc == 0, second.stdout[-3000:]
    r = report(second)[VM]
    assert r["type"] == "incremental"
    assert moved(sim, before, disks[DATA]) <= MIB


def test_dropped_transfer_leaves_no_point_and_the_next_run_succeeds(estate):
    sim, vm_id, disks, repo = estate
    points_before = sorted(os.listdir(os.path.join(repo, "vms", vm_id, "points")))
    write(sim, DATA, 100 * MIB, 8 * MIB, 0x55)
    sim.inject({"kind": "transfer_interrupted", "target": DATA, "after_bytes": 2 * MIB, "count": 1})
    run = backup(sim, repo, vm_backup_mode="auto")
    assert run.rc != 0, report(run)
    r = report(run)[VM]
    assert not r["ok"] and "failed" in r["error"], r
    assert "backup failed for app1" in run.stdout
    assert sorted(os.listdir(os.path.join(repo, "vms", vm_id, "points"))) == points_before
    assert engine_leftovers(sim, vm_id) == ([], [], [])
    sim.clear_faults()
    again = backup(sim, repo)
    assert again.rc == 0, again.stdout[-3000:]
    assert report(again)[VM]["type"] == "incremental"


def test_lost_checkpoint_makes_auto_take_a_full_and_say_why(estate):
    sim, vm_id, disks, repo = estate
    sim.inject({"kind": "checkpoint_lost", "target": VM})
    run = backup(sim, repo)
    assert run.rc == 0, run.stdout[-3000:]
    r = report(run)[VM]
    assert r["type"] == "full" and "no longer on the Engine" in r["reason"], r


def _read_only(path, on):
    """Read-only for this user: chattr +i as root (root writes through file modes), the mode otherwise."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i" if on else "-i", path], check=True)
    else:
        os.chmod(path, (stat.S_IRUSR | stat.S_IXUSR) if on else (stat.S_IRWXU))


def _backup_task(sim, repo):
    run = run_playbook(sim, [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Backup", "sre.ovirt.vm_backup": {"name": VM, "repository": repo}, "ignore_errors": True}]}])
    return run, run.results("Backup")[0]


def test_read_only_repository_fails_before_any_change_and_keeps_earlier_points(estate):
    sim, vm_id, disks, repo = estate
    points_before = sorted(os.listdir(os.path.join(repo, "vms", vm_id, "points")))
    _read_only(repo, True)
    try:
        run, res = _backup_task(sim, repo)
    finally:
        _read_only(repo, False)
    assert res["failed"] and "not writable" in res["msg"] and res.get("field") == "repository", res
    assert run.mutating() == []
    assert sorted(os.listdir(os.path.join(repo, "vms", vm_id, "points"))) == points_before


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_full_repository_fails_clearly_and_leaves_nothing(estate, tmp_path):
    sim, vm_id, disks, _repo = estate
    small = str(tmp_path / "small")
    os.mkdir(small)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", small], check=True)
    try:
        with open(os.path.join(small, "filler"), "wb") as f:
            f.write(b"x" * (5 * MIB))
        run, res = _backup_task(sim, os.path.join(small, "repo"))
        assert res["failed"] and "MiB free" in res["msg"] and res.get("field") == "repository", res
        assert run.mutating() == []
        assert engine_leftovers(sim, vm_id) == ([], [], [])
    finally:
        subprocess.run(["umount", small], check=False)


def test_restore_check_mode_and_a_name_in_use(estate):
    sim, vm_id, disks, repo = estate
    run = restore(sim, repo, name="app1-r0")
    assert run.rc != 0
    assert "already exists" in run.stdout
    assert run.mutating() == []


def test_a_spent_budget_never_blocks_a_backup_but_refuses_a_restore_copy(estate, tmp_path):
    sim, vm_id, disks, repo = estate
    ledger = str(tmp_path / "sli.sqlite")
    now = time.time()
    seed(ledger, now)
    book = _ledger_class()(ledger)
    try:    # two hours of VM downtime just now: the availability budget (43 min / 30 days) is spent
        book.record_many([("vm_up", 0.0, now - 60, 7200.0, "x", None)])
    finally:
        book.close()
    env = {"SRE_OVIRT_SLO_POLICY": json.dumps({"ledger_path": ledger, "cache_ttl": 0})}
    run = run_playbook(sim, [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Backup", "sre.ovirt.vm_backup": {"name": VM, "repository": repo}}]}], env=env)
    res = run.results("Backup")[0]
    assert run.rc == 0, run.stdout[-3000:]
    assert res["slo_gate"]["outcome"] == "protection" and "vm-availability" in res["slo_gate"]["blocking"]
    db = sqlite3.connect(ledger)
    try:
        log = db.execute("SELECT outcome, change_class, module FROM gate_log").fetchall()
        recorded = dict(db.execute("SELECT measurement, value FROM samples WHERE measurement LIKE 'backup_%' "
                                   "AND source_id = ?", (res["point"],)).fetchall())
    finally:
        db.close()
    assert ("protection", "protection", "sre.ovirt.vm_backup") in log
    assert recorded["backup_success"] == 1.0 and recorded["backup_bytes"] == res["bytes"]
    assert recorded["backup_seconds"] > 0

    copy = restore(sim, repo, name="app1-gated", env=env)
    assert copy.rc != 0 and "budget spent" in copy.stdout and copy.mutating() == []
    in_place = restore(sim, repo, check=True, env=env)
    assert in_place.rc == 0, in_place.stdout[-3000:]
    assert in_place.results("Restore " + VM)[0]["slo_gate"]["outcome"] == "remediation"


def test_no_secret_reaches_output_or_callbacks(estate, tmp_path):
    sim, vm_id, disks, repo = estate
    record = str(tmp_path / "callbacks.log")
    env = {"ANSIBLE_CALLBACKS_ENABLED": "record_everything", "RECORD_EVERYTHING_FILE": record,
           "ANSIBLE_CALLBACK_PLUGINS": os.path.join(REPO, "tests", "support", "callback_plugins")}
    runs = [run_playbook(sim, BACKUP, extra_vars={"vm_backup_repository": repo, "vm_backup_vms": VM}, env=env,
                         verbosity=3, callback="default"),
            run_playbook(sim, RESTORE, extra_vars={"restore_repository": repo, "restore_vm": VM,
                                                   "restore_name": "app1-secret"}, env=env, verbosity=3,
                         callback="default")]
    for run in runs:
        assert run.rc == 0, run.stdout[-3000:]
        assert sim.password not in run.stdout + run.stderr
    with open(record) as f:
        seen = f.read()
    assert "v2_runner_on_ok" in seen and sim.password not in seen
    for root, _dirs, files in os.walk(repo):
        for name in files:
            if name.endswith(".json"):
                with open(os.path.join(root, name)) as f:
                    assert sim.password not in f.read()


def test_a_lost_vm_comes_back_from_its_ovf_with_its_id_and_macs(estate):
    sim, vm_id, disks, repo = estate
    conn = sim.connection()
    try:
        vms = conn.system_service().vms_service()
        svc = vms.vm_service(vm_id)
        macs = sorted(n.mac.address for n in svc.nics_service().list())
        expected = vm_checksums(sim, VM)
        svc.stop()
        poll(svc.get, lambda v: v.status.value == "down")
        backup(sim, repo)                 # the newest point holds exactly these disks
        svc.remove(detach_only=False)
        poll(lambda: _vm(conn, VM), lambda v: v is None)
    finally:
        conn.close()
    run = restore(sim, repo, restore_state="running")
    assert run.rc == 0, run.stdout[-4000:]
    res = run.results("Restore " + VM)[0]
    assert res["how"] == "recreated" and res["vm_id"] == vm_id
    conn = sim.connection()
    try:
        svc = conn.system_service().vms_service().vm_service(vm_id)
        assert svc.get().status.value == "up"
        assert sorted(n.mac.address for n in svc.nics_service().list()) == macs
    finally:
        conn.close()
    assert vm_checksums(sim, VM) == expected
