# SPDX-License-Identifier: GPL-3.0-or-later
"""Image transfers through a real ovirt-imageio daemon: the SDK creates them, ``ovirt_imageio.client`` moves the
bytes, and what lands on the simulator's storage is compared with what went in."""

import hashlib
import json
import os
import signal
import subprocess

import ovirtsdk4 as sdk
from ovirtsdk4 import types
from ovirt_imageio import client
import pytest

from ovirt_engine_sim.testing import poll, start_simulator, wait_status

MIB = 1 << 20
P = types.ImageTransferPhase


def qemu_img(*args):
    return subprocess.run(["qemu-img"] + list(args), check=True, capture_output=True, text=True).stdout


def qemu_io(path, fmt, *cmds):
    args = ["qemu-io", "-f", fmt]
    for c in cmds:
        args += ["-c", c]
    subprocess.run(args + [path], check=True, capture_output=True)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MIB), b""):
            h.update(chunk)
    return h.hexdigest()


def add_disk(system, name, size, fmt=types.DiskFormat.COW):
    d = system.disks_service().add(types.Disk(name=name, format=fmt, provisioned_size=size, sparse=True,
                                              storage_domains=[types.StorageDomain(name="data-nfs")]))
    return wait_status(system.disks_service().disk_service(d.id), types.DiskStatus.OK)


def start(system, fmt=types.DiskFormat.RAW, **kw):
    svc = system.image_transfers_service()
    t = svc.add(types.ImageTransfer(format=fmt, **kw))
    tsvc = svc.image_transfer_service(t.id)
    t = poll(tsvc.get, lambda t: t.phase != P.INITIALIZING)
    assert t.phase == P.TRANSFERRING, t.phase
    return t, tsvc


def finish(tsvc, action="finalize"):
    getattr(tsvc, action)()
    return poll(tsvc.get, lambda t: t.phase in (P.FINISHED_SUCCESS, P.FINISHED_FAILURE))


def transfers(sim):
    return {t["id"]: t for t in sim.admin("GET", "transfers")}


def upload(system, sim, src, disk_id, **kw):
    t, tsvc = start(system, disk=types.Disk(id=disk_id), direction=types.ImageTransferDirection.UPLOAD, **kw)
    client.upload(src, t.transfer_url, sim.ca_file)
    return t, finish(tsvc)


def download(system, sim, dst, fmt="raw", tfmt=types.DiskFormat.RAW, **kw):
    t, tsvc = start(system, fmt=tfmt, direction=types.ImageTransferDirection.DOWNLOAD, **kw)
    client.download(t.transfer_url, dst, sim.ca_file, fmt=fmt)
    return t, finish(tsvc)


def codes(system, since):
    return [e.code for e in system.events_service().list(from_=since)]


def last_event(system):
    return int(system.events_service().list(max=1)[0].id)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """A 64 MiB qcow2 with data at three places."""
    path = str(tmp_path_factory.mktemp("img") / "src.qcow2")
    qemu_img("create", "-q", "-f", "qcow2", path, str(64 * MIB))
    qemu_io(path, "qcow2", "write -P 0x11 0 1M", "write -P 0x22 10M 2M", "write -P 0x33 63M 1M")
    return path


@pytest.fixture(scope="module")
def uploaded(system, engine_sim, image):
    disk = add_disk(system, "xfer-qcow", 64 * MIB)
    since = last_event(system)
    t, done = upload(system, engine_sim, image, disk.id)
    assert done.phase == P.FINISHED_SUCCESS
    assert {1031, 1032} <= set(codes(system, since))
    return disk


def test_upload_qcow2_then_download_raw_and_cow_bit_exact(system, engine_sim, image, uploaded, tmp_path):
    disk = system.disks_service().disk_service(uploaded.id).get()
    assert disk.status == types.DiskStatus.OK and disk.actual_size > 3 * MIB
    out = str(tmp_path / "out.raw")
    t, done = download(system, engine_sim, out, disk=types.Disk(id=disk.id))
    assert done.phase == P.FINISHED_SUCCESS
    assert "Images are identical" in qemu_img("compare", "-f", "qcow2", "-F", "raw", image, out)
    # format cow: the file backend serves the volume's own qcow2 bytes
    cow = str(tmp_path / "out.qcow2")
    t, done = download(system, engine_sim, cow, tfmt=types.DiskFormat.COW, disk=types.Disk(id=disk.id))
    with open(cow, "rb") as f:
        assert f.read(4) == b"QFI\xfb"
    assert "Images are identical" in qemu_img("compare", "-f", "raw", "-F", "qcow2", out, cow)
    row = transfers(engine_sim)[t.id]
    assert (row["backend"], row["format"], row["phase"]) == ("file", "cow", "finished_success")


def test_upload_raw_into_raw_disk(system, engine_sim, tmp_path):
    src = str(tmp_path / "src.raw")
    with open(src, "wb") as f:
        f.write(os.urandom(3 * MIB))
        f.truncate(8 * MIB)
    disk = add_disk(system, "xfer-raw", 8 * MIB, types.DiskFormat.RAW)
    t, done = upload(system, engine_sim, src, disk.id)
    assert done.phase == P.FINISHED_SUCCESS
    out = str(tmp_path / "back.raw")
    download(system, engine_sim, out, disk=types.Disk(id=disk.id))
    assert sha256(out) == sha256(src)


def test_disk_snapshot_download(system, engine_sim, image, tmp_path):
    """A VM snapshot freezes the uploaded volume; new data goes to the overlay; the snapshot's volume still
    downloads the old data, the disk the new."""
    disk = add_disk(system, "xfer-snap", 64 * MIB)
    upload(system, engine_sim, image, disk.id)
    vm = system.vms_service().add(types.Vm(name="xfer-vm", cluster=types.Cluster(name="Default"),
                                           template=types.Template(name="Blank")))
    vsvc = system.vms_service().vm_service(vm.id)
    wait_status(vsvc, types.VmStatus.DOWN)
    vsvc.disk_attachments_service().add(types.DiskAttachment(disk=types.Disk(id=disk.id), active=True,
                                                             interface=types.DiskInterface.VIRTIO_SCSI))
    snap = vsvc.snapshots_service().add(types.Snapshot(description="before"))
    poll(vsvc.snapshots_service().snapshot_service(snap.id).get,
         lambda s: s.snapshot_status == types.SnapshotStatus.OK)
    wait_status(system.disks_service().disk_service(disk.id), types.DiskStatus.OK)
    newer = str(tmp_path / "newer.raw")
    with open(newer, "wb") as f:
        f.write(b"\x77" * MIB)
        f.truncate(64 * MIB)
    upload(system, engine_sim, newer, disk.id)
    base = system.disks_service().disk_service(disk.id).disk_snapshots_service().list()[0]
    old = str(tmp_path / "old.raw")
    t, done = download(system, engine_sim, old, snapshot=types.DiskSnapshot(id=base.id))
    assert done.phase == P.FINISHED_SUCCESS
    assert "Images are identical" in qemu_img("compare", "-f", "qcow2", "-F", "raw", image, old)
    cur = str(tmp_path / "cur.raw")
    download(system, engine_sim, cur, disk=types.Disk(id=disk.id))
    assert sha256(cur) == sha256(newer)


def test_locked_disk_and_second_transfer_refused(system, engine_sim, uploaded):
    t, tsvc = start(system, disk=types.Disk(id=uploaded.id), direction=types.ImageTransferDirection.DOWNLOAD)
    assert system.disks_service().disk_service(uploaded.id).get().status == types.DiskStatus.LOCKED
    with pytest.raises(sdk.Error) as err:
        system.image_transfers_service().add(types.ImageTransfer(
            disk=types.Disk(id=uploaded.id), direction=types.ImageTransferDirection.DOWNLOAD))
    assert err.value.code == 409 and "The following disks are locked" in str(err.value)
    since = last_event(system)
    done = finish(tsvc, "cancel")
    assert done.phase == P.FINISHED_FAILURE and 1033 in codes(system, since)
    assert system.disks_service().disk_service(uploaded.id).get().status == types.DiskStatus.OK
    # still listed after it ended
    assert t.id in [x.id for x in system.image_transfers_service().list()]


def test_cancelled_upload_removes_the_disk(system, engine_sim):
    disk = add_disk(system, "xfer-cancel", 8 * MIB)
    t, tsvc = start(system, disk=types.Disk(id=disk.id))
    assert finish(tsvc, "cancel").phase == P.FINISHED_FAILURE
    poll(lambda: [d.id for d in system.disks_service().list(search="name=xfer-cancel")], lambda ids: ids == [])


def test_inactivity_timeout_cancels_a_download(system, engine_sim, uploaded):
    since = last_event(system)
    t, tsvc = start(system, disk=types.Disk(id=uploaded.id), direction=types.ImageTransferDirection.DOWNLOAD,
                    inactivity_timeout=1)
    done = poll(tsvc.get, lambda t: t.phase in (P.FINISHED_SUCCESS, P.FINISHED_FAILURE), timeout=20)
    assert done.phase == P.FINISHED_FAILURE and 1033 in codes(system, since)


def test_daemon_counts_only_the_data(system, engine_sim, tmp_path):
    """A 1 GiB thin disk with 8 MiB of data: the daemon serves about 8 MiB, not 1 GiB."""
    src = str(tmp_path / "big.qcow2")
    qemu_img("create", "-q", "-f", "qcow2", src, str(1024 * MIB))
    qemu_io(src, "qcow2", "write -P 0x5a 100M 8M")
    disk = add_disk(system, "xfer-thin", 1024 * MIB)
    t, done = upload(system, engine_sim, src, disk.id)
    out = str(tmp_path / "big.out.qcow2")
    t, done = download(system, engine_sim, out, fmt="qcow2", disk=types.Disk(id=disk.id))
    row = transfers(engine_sim)[t.id]
    assert 8 * MIB <= row["bytes"] < 16 * MIB, row
    assert "Images are identical" in qemu_img("compare", src, out)


def test_transfer_interrupted_fault(system, engine_sim, uploaded, tmp_path):
    engine_sim.inject({"kind": "transfer_interrupted", "after_bytes": 300000})
    t, tsvc = start(system, disk=types.Disk(id=uploaded.id), direction=types.ImageTransferDirection.DOWNLOAD)
    with pytest.raises(Exception):
        client.download(t.transfer_url, str(tmp_path / "cut.raw"), engine_sim.ca_file, fmt="raw")
    row = transfers(engine_sim)[t.id]
    assert row["relay_port"] and str(row["relay_port"]) in t.transfer_url
    assert finish(tsvc, "cancel").phase == P.FINISHED_FAILURE
    # the fault was used once: the next transfer is direct again and works
    out = str(tmp_path / "ok.raw")
    t, done = download(system, engine_sim, out, disk=types.Disk(id=uploaded.id))
    assert done.phase == P.FINISHED_SUCCESS and transfers(engine_sim)[t.id]["relay_port"] is None


def test_bad_upload_fails_verification(system, engine_sim, tmp_path):
    """A qcow2 disk given raw bytes through the file backend is not a qcow2 image: finalize fails it."""
    junk = str(tmp_path / "junk")
    with open(junk, "wb") as f:
        f.write(b"not an image" * 1000)
    disk = add_disk(system, "xfer-bad", 8 * MIB)
    t, tsvc = start(system, fmt=types.DiskFormat.COW, disk=types.Disk(id=disk.id))
    client.upload(junk, t.transfer_url, engine_sim.ca_file)
    since = last_event(system)
    assert finish(tsvc).phase == P.FINISHED_FAILURE
    assert 1034 in codes(system, since)
    poll(lambda: [d.id for d in system.disks_service().list(search="name=xfer-bad")], lambda ids: ids == [])


def _pids(state):
    with open(os.path.join(state, "imageio", "pids.json")) as f:
        data = json.load(f)
    return [data["daemon"]] + [p for p, s in data["nbd"].values()]


def _running(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def test_daemon_and_exports_stop_with_the_simulator(tmp_path):
    state = str(tmp_path / "state")
    sim = start_simulator(state)
    try:
        conn = sim.connection()
        system = conn.system_service()
        disk = add_disk(system, "xfer-stop", 8 * MIB)
        start(system, disk=types.Disk(id=disk.id))
        pids = _pids(state)
        assert len(pids) == 2 and all(_running(p) for p in pids)
        conn.close()
    finally:
        sim.stop()
    assert not any(_running(p) for p in pids)
    # a killed simulator leaves them; the next start reaps them and fails the open transfer
    sim = start_simulator(state)
    try:
        conn = sim.connection()
        system = conn.system_service()
        start(system, disk=types.Disk(id=add_disk(system, "xfer-kill", 8 * MIB).id))
        pids = _pids(state)
        conn.close()
    finally:
        sim.process.send_signal(signal.SIGKILL)
        sim.process.wait()
    assert all(_running(p) for p in pids)
    sim = start_simulator(state)
    try:
        assert not any(_running(p) for p in pids)
        conn = sim.connection()
        phases = [t.phase for t in conn.system_service().image_transfers_service().list()]
        assert phases and all(p in (P.FINISHED_SUCCESS, P.FINISHED_FAILURE) for p in phases)
        conn.close()
    finally:
        sim.stop()
