# SPDX-License-Identifier: GPL-3.0-or-later
"""Backing up many VMs: 20 VMs one after another (a plain loop of sre.ovirt.vm_backup, what a play without the
role does) and with the vm_backup role 4 at a time - the same work (full backups into fresh repositories) in the
same run.

Target (issue 13): the parallel wall time <= 0.35 x the serial one. The simulator runs at real speed
(``--time-scale 1``): the Engine's backup phases and transfer set-up take their simulated seconds, as a backup on a
real Engine is mostly waiting for it. (At a tiny time scale each backup is pure CPU on the controller, and two
cores cap any parallelism near 2x.) Prints a table, writes
``results/backup_parallel.json`` and exits 1 if the target is missed.

    .venv/bin/python tests/benchmarks/bench_backup_parallel.py [--vms 20] [--concurrency 4]
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, REPO)
from _common import finish, table  # noqa: E402

from ovirtsdk4 import types  # noqa: E402
from ovirt_engine_sim.testing import poll, start_simulator  # noqa: E402
from tests.integration.harness import run_playbook  # noqa: E402

MIB, GIB = 1 << 20, 1 << 30
PLAYBOOK = os.path.join(REPO, "playbooks", "backup_vms.yml")


def make_vms(sim, names):
    conn = sim.connection()
    try:
        vms = conn.system_service().vms_service()
        ids = []
        for name in names:
            vm = vms.add(types.Vm(name=name, cluster=types.Cluster(name="Default"),
                                  template=types.Template(name="Blank"), memory=GIB))
            ids.append(vm.id)
        for vid in ids:
            svc = vms.vm_service(vid)
            poll(svc.get, lambda v: v.status.value == "down")
            svc.disk_attachments_service().add(types.DiskAttachment(
                disk=types.Disk(name=svc.get().name + "_data", provisioned_size=64 * MIB,
                                format=types.DiskFormat.COW, backup=types.DiskBackup.INCREMENTAL,
                                storage_domains=[types.StorageDomain(name="data-nfs")]),
                interface=types.DiskInterface.VIRTIO_SCSI, bootable=True, active=True))
        for vid in ids:
            svc = vms.vm_service(vid)
            poll(lambda: [a.disk for a in svc.disk_attachments_service().list(follow="disk")],
                 lambda ds: ds and all(d.status.value == "ok" for d in ds))
    finally:
        conn.close()
    for name in names:
        sim.admin("POST", "/vms/%s/disks/%s_data/write" % (name, name), {"offset": 0, "length": 4 * MIB,
                                                                         "pattern": 0x31})


def serial(sim, names, workdir):
    repo = os.path.join(workdir, "repo-serial")
    play = [{"name": "serial", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Backup", "sre.ovirt.vm_backup": {"name": "{{ item }}", "repository": repo, "mode": "full"},
         "loop": names}]}]
    t0 = time.perf_counter()
    run = run_playbook(sim, play, timeout=3600)
    wall = time.perf_counter() - t0
    if run.rc != 0:
        raise RuntimeError("the serial loop failed: %s" % run.stdout[-2000:])
    done = run.results("Backup")
    return {"how": "loop, one at a time", "vms": len(done), "ok": sum(1 for r in done if r.get("point")),
            "wall_seconds": wall, "seconds_per_vm": wall / len(names), "api_requests": len(run.api_requests())}


def measure(sim, names, concurrency, workdir):
    repo = os.path.join(workdir, "repo-c%d" % concurrency)
    t0 = time.perf_counter()
    run = run_playbook(sim, PLAYBOOK, timeout=3600, extra_vars={
        "vm_backup_repository": repo, "vm_backup_vms": ",".join(names), "vm_backup_mode": "full",
        "vm_backup_concurrency": concurrency, "vm_backup_poll_interval": 1})
    wall = time.perf_counter() - t0
    if run.rc != 0:
        raise RuntimeError("backup_vms.yml failed at concurrency %d: %s" % (concurrency, run.stdout[-2000:]))
    done = run.results("Collect what each backup did")[-1]["ansible_facts"]["vm_backup_results"]
    return {"how": "role, %d at a time" % concurrency, "vms": len(done), "ok": sum(1 for r in done if r["ok"]),
            "wall_seconds": wall, "seconds_per_vm": wall / len(names), "api_requests": len(run.api_requests())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vms", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--time-scale", type=float, default=1.0)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bench-backup-par-")
    names = ["bk%02d" % i for i in range(args.vms)]
    try:
        with start_simulator(os.path.join(work, "sim"), time_scale=args.time_scale) as sim:
            make_vms(sim, names)
            one = serial(sim, names, work)
            parallel = measure(sim, names, args.concurrency, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratio = parallel["wall_seconds"] / one["wall_seconds"]
    rows = [one, parallel]
    table("vm_backup role, %d VMs, full backups (wall ratio %.2f, target <= 0.35)" % (args.vms, ratio), rows,
          ["how", "vms", "ok", "wall_seconds", "seconds_per_vm", "api_requests"])
    missed = [] if ratio <= 0.35 and all(r["ok"] == r["vms"] for r in rows) else ["parallel_ratio"]
    return finish("backup_parallel", {"rows": rows, "ratio": ratio, "target": 0.35, "time_scale": args.time_scale},
                  missed)


if __name__ == "__main__":
    sys.exit(main())
