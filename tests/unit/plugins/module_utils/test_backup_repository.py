# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backup repository and the full/incremental decision as pure logic: real qcow2 files, no Engine."""

import json
import os
import subprocess

import pytest
from ovirtsdk4 import types as T

from ansible_collections.sre.ovirt.plugins.module_utils._module import TaskFailed
from ansible_collections.sre.ovirt.plugins.module_utils.backup import images
from ansible_collections.sre.ovirt.plugins.module_utils.backup.repository import (
    Repository, RepositoryError, new_point_id, parse_time)
from ansible_collections.sre.ovirt.plugins.modules import vm_backup

MIB = 1 << 20


def point(repo, vm_id, pid, finished, parent=None, status="good", checkpoint="cp", files=()):
    partial = repo.begin(vm_id, pid)
    disks = []
    for name, backing in files:
        path = os.path.join(partial, name)
        args = ["qemu-img", "create", "-q", "-f", "qcow2"]
        if backing:
            args += ["-b", backing, "-F", "qcow2"]
        subprocess.run(args + [path, str(64 * MIB)], check=True)
        disks.append({"disk_id": name.split(".")[0], "alias": "d", "file": name,
                      "file_sha256": images.file_sha256(path)})
    repo.publish(vm_id, pid, partial, {"id": pid, "vm": {"id": vm_id, "name": "web1"}, "type":
                                       "incremental" if parent else "full", "parent": parent,
                                       "finished_epoch": finished, "finished_at": str(finished), "status": status,
                                       "checkpoint_id": checkpoint, "disks": disks})


def test_a_directory_becomes_a_repository_only_when_empty_or_missing(tmp_path):
    Repository(str(tmp_path / "new")).open(create=True)
    assert json.load(open(str(tmp_path / "new" / "sre-ovirt-repository.json")))["format"] == 1
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    with pytest.raises(RepositoryError, match="not empty"):
        Repository(str(tmp_path / "busy")).open(create=True)
    with pytest.raises(RepositoryError, match="does not exist"):
        Repository(str(tmp_path / "missing")).open()


def test_points_select_by_latest_id_and_time_and_skip_bad_ones(tmp_path):
    repo = Repository(str(tmp_path)).open(create=True)
    point(repo, "vm1", "20261101T020000Z-00000001", 1000.0)
    point(repo, "vm1", "20261102T020000Z-00000002", 2000.0, parent="20261101T020000Z-00000001")
    point(repo, "vm1", "20261103T020000Z-00000003", 3000.0, parent="20261102T020000Z-00000002", status="bad")
    assert repo.select("vm1", "latest")["id"] == "20261102T020000Z-00000002"
    assert repo.select("vm1", "20261101T020000Z-00000001")["finished_epoch"] == 1000.0
    assert repo.select("vm1", "1970-01-01T00:40:00Z")["id"] == "20261102T020000Z-00000002"   # 2400 s
    assert repo.select("vm1", "1970-01-01T00:25:00Z")["id"] == "20261101T020000Z-00000001"   # 1500 s
    assert repo.select("vm1", "1970-01-01T01:00:00Z")["id"] == "20261102T020000Z-00000002"   # bad point skipped
    with pytest.raises(RepositoryError, match="no point finished at or before"):
        repo.select("vm1", "1970-01-01T00:00:01Z")
    with pytest.raises(RepositoryError) as err:
        repo.select("vm1", "20261103T020000Z-00000003")
    assert err.value.field == "point"
    chain = repo.chain("vm1", repo.select("vm1", "latest"))
    assert [p["id"] for p in chain] == ["20261101T020000Z-00000001", "20261102T020000Z-00000002"]
    assert repo.find_vm("web1") == "vm1" and repo.find_vm("db1") is None


def test_time_and_point_id_parsing():
    assert parse_time("1970-01-01T00:01:00Z") == 60.0
    assert parse_time("1970-01-01 01:01:00+01:00") == 60.0
    with pytest.raises(RepositoryError, match="neither 'latest'"):
        parse_time("yesterday")
    a, b = new_point_id(1000.0), new_point_id(2000.0)
    assert a < b and len(a) == len("20261127T020012Z-1a2b3c4d")


def test_a_partial_point_is_never_listed_and_is_removed_by_the_next_run(tmp_path):
    repo = Repository(str(tmp_path)).open(create=True)
    partial = repo.begin("vm1", "20261101T020000Z-00000001")
    open(os.path.join(partial, "d.qcow2"), "w").close()
    assert repo.points("vm1") == []
    repo.begin("vm1", "20261101T030000Z-00000002")
    assert not os.path.exists(partial)


def test_incremental_files_keep_relative_backing_so_the_repository_can_move(tmp_path):
    repo = Repository(str(tmp_path / "a")).open(create=True)
    point(repo, "vm1", "20261101T020000Z-00000001", 1.0, files=[("d1.qcow2", None)])
    point(repo, "vm1", "20261102T020000Z-00000002", 2.0, parent="20261101T020000Z-00000001",
          files=[("d1.qcow2", "../20261101T020000Z-00000001/d1.qcow2")])
    os.rename(str(tmp_path / "a"), str(tmp_path / "b"))
    top = str(tmp_path / "b" / "vms" / "vm1" / "points" / "20261102T020000Z-00000002" / "d1.qcow2")
    chain = images.info(top, chain=True)
    assert len(chain) == 2 and chain[1]["filename"].startswith(str(tmp_path / "b"))


def test_guest_sha256_is_the_sha256_of_the_raw_content(tmp_path):
    path = str(tmp_path / "img.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", path, str(32 * MIB)], check=True)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 7 1M 3M", path], check=True, capture_output=True)
    raw = str(tmp_path / "img.raw")
    subprocess.run(["qemu-img", "convert", "-O", "raw", path, raw], check=True)
    assert images.guest_sha256(path) == images.file_sha256(raw)


class _Checkpoints:
    def __init__(self, states):
        self.states = states


def _plan(tmp_path, mode, checkpoint_state, disks_incremental=True, with_point=True, monkeypatch=None):
    repo = Repository(str(tmp_path)).open(create=True)
    if with_point:
        point(repo, "vm1", "20261101T020000Z-00000001", 1.0, checkpoint="cp1")
    monkeypatch.setattr(vm_backup, "checkpoint_state", lambda svc, vm_id, cp: checkpoint_state)
    disk = T.Disk(id="d1", backup=T.DiskBackup.INCREMENTAL if disks_incremental else T.DiskBackup.NONE)
    return vm_backup.plan(repo, None, T.Vm(id="vm1", name="web1"), [(None, disk)], mode)


def test_auto_is_incremental_only_when_the_checkpoint_is_on_the_engine(tmp_path, monkeypatch):
    kind, why, prev = _plan(tmp_path / "1", "auto", "created", monkeypatch=monkeypatch)
    assert kind == "incremental" and prev["id"] == "20261101T020000Z-00000001"
    kind, why, prev = _plan(tmp_path / "2", "auto", None, monkeypatch=monkeypatch)
    assert kind == "full" and "checkpoint cp1 of point 20261101T020000Z-00000001 is no longer on the Engine" == why
    kind, why, _prev = _plan(tmp_path / "3", "auto", "invalid", monkeypatch=monkeypatch)
    assert kind == "full" and why.endswith("is invalid on the Engine")
    kind, why, _prev = _plan(tmp_path / "4", "auto", "created", with_point=False, monkeypatch=monkeypatch)
    assert kind == "full" and why.startswith("no earlier point")
    kind, why, _prev = _plan(tmp_path / "5", "auto", "created", disks_incremental=False, monkeypatch=monkeypatch)
    assert kind == "full" and "no disk" in why
    kind, why, _prev = _plan(tmp_path / "6", "full", "created", monkeypatch=monkeypatch)
    assert kind == "full" and why == "mode is full"


def test_mode_incremental_fails_instead_of_falling_back(tmp_path, monkeypatch):
    with pytest.raises(TaskFailed) as err:
        _plan(tmp_path, "incremental", None, monkeypatch=monkeypatch)
    assert err.value.result["field"] == "mode" and "not possible" in str(err.value)
