# SPDX-License-Identifier: GPL-3.0-or-later
"""Backup and restore data plane: bytes moved (as the simulator's imageio daemon counts them, not the module),
throughput against ``qemu-img convert`` of the same image on this machine, and the module's peak memory.

Targets (issue 12):
- an incremental after writing 64 MiB into a 10 GiB disk moves <= 1.05 x 64 MiB;
- a full backup of a 10 GiB thin disk holding 2 GiB of data moves <= 1.05 x 2 GiB;
- full backup and restore throughput >= 50 % of ``qemu-img convert`` of the same data (the ratio is the figure);
- the module's peak RSS (with its qemu-nbd helpers) < 256 MiB while moving a 4 GiB disk.

Prints a table, writes ``results/backup.json`` and exits 1 if a target is missed.

    .venv/bin/python tests/benchmarks/bench_backup.py [--data-gib 2] [--memory-gib 4]
"""

import argparse
import json
import os
import shutil
import subprocess
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
from tests.support.collection import ansible_env, collections_path  # noqa: E402

MIB, GIB = 1 << 20, 1 << 30
PYTHON = os.path.join(REPO, ".venv", "bin", "python")
# Runs one command and prints the peak RSS (KiB) of it and everything it waited for (qemu-nbd included).
RSS_WRAPPER = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); "
               "sys.stderr.write('\\nMAXRSS %d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
               "sys.exit(p.returncode)")


def make_vm(sim, name, size):
    conn = sim.connection()
    try:
        vms = conn.system_service().vms_service()
        vm = vms.add(types.Vm(name=name, cluster=types.Cluster(name="Default"), template=types.Template(name="Blank"),
                              memory=GIB))
        svc = vms.vm_service(vm.id)
        poll(svc.get, lambda v: v.status.value == "down")
        svc.disk_attachments_service().add(types.DiskAttachment(
            disk=types.Disk(name=name + "_data", provisioned_size=size, format=types.DiskFormat.COW,
                            backup=types.DiskBackup.INCREMENTAL, storage_domains=[types.StorageDomain(name="data-nfs")]),
            interface=types.DiskInterface.VIRTIO_SCSI, bootable=True, active=True))
        poll(lambda: [a.disk for a in svc.disk_attachments_service().list(follow="disk")],
             lambda ds: ds and all(d.status.value == "ok" for d in ds))
        svc.start()
        poll(svc.get, lambda v: v.status.value == "up")
        return [d.id for d in conn.system_service().disks_service().list() if d.alias == name + "_data"][0]
    finally:
        conn.close()


def write(sim, vm, offset, length, pattern):
    step = 256 * MIB      # several writes: one admin request stays short
    for off in range(offset, offset + length, step):
        sim.admin("POST", "/vms/%s/disks/%s_data/write" % (vm, vm),
                  {"offset": off, "length": min(step, offset + length - off), "pattern": pattern})


def run_module(sim, module, args):
    env = ansible_env(sim)
    env["PYTHONPATH"] = collections_path()
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, f)
    t0 = time.perf_counter()
    proc = subprocess.run([PYTHON, "-c", RSS_WRAPPER, PYTHON, "-m",
                           "ansible_collections.sre.ovirt.plugins.modules." + module, path],
                          env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    os.remove(path)
    out = json.loads(proc.stdout[proc.stdout.index("{"):])
    if out.get("failed"):
        raise RuntimeError("%s failed: %s" % (module, out.get("msg")))
    rss = [int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("MAXRSS ")]
    return out, seconds, (rss[-1] * 1024 if rss else None)


def moved(sim, before, disk_id, direction):
    return sum(t["bytes"] for t in sim.admin("GET", "/transfers")
               if t["id"] not in before and t.get("disk") == disk_id and t["direction"] == direction)


def ids(sim):
    return {t["id"] for t in sim.admin("GET", "/transfers")}


def convert_seconds(src, workdir):
    dst = os.path.join(workdir, "convert.qcow2")
    t0 = time.perf_counter()
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", "-W", src, dst], check=True)
    seconds = time.perf_counter() - t0
    os.remove(dst)
    return seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-gib", type=float, default=2.0)
    ap.add_argument("--memory-gib", type=float, default=4.0)
    args = ap.parse_args()
    data = int(args.data_gib * GIB)
    state = tempfile.mkdtemp(prefix="bench-backup-")
    repo = os.path.join(state, "repository")
    rows, missed, payload = [], [], {}
    try:
        with start_simulator(os.path.join(state, "sim"), time_scale=0.01) as sim:
            disk = make_vm(sim, "big", 10 * GIB)
            write(sim, "big", 0, data, 0x5a)

            before = ids(sim)
            full, full_s, full_rss = run_module(sim, "vm_backup", {"name": "big", "repository": repo})
            full_bytes = moved(sim, before, disk, "download")
            vm_dir = os.listdir(os.path.join(repo, "vms"))[0]     # the only VM backed up so far
            point_file = os.path.join(repo, "vms", vm_dir, "points", full["point"], full["disks"][0]["file"])
            conv_s = convert_seconds(point_file, state)
            rows.append({"case": "full, 10 GiB disk, %.1f GiB data" % args.data_gib, "moved_mib": full_bytes / MIB,
                         "limit_mib": 1.05 * data / MIB, "seconds": full_s, "mib_s": data / MIB / full_s,
                         "convert_mib_s": data / MIB / conv_s, "ratio": conv_s / full_s,
                         "peak_rss_mib": (full_rss or 0) / MIB})
            if full_bytes > 1.05 * data:
                missed.append("full_bytes")
            if conv_s / full_s < 0.5:
                missed.append("full_throughput_ratio")

            write(sim, "big", 5 * GIB, 64 * MIB, 0x6b)
            before = ids(sim)
            inc, inc_s, inc_rss = run_module(sim, "vm_backup", {"name": "big", "repository": repo})
            inc_bytes = moved(sim, before, disk, "download")
            rows.append({"case": "incremental after 64 MiB written", "moved_mib": inc_bytes / MIB,
                         "limit_mib": 1.05 * 64, "seconds": inc_s, "mib_s": 64 / inc_s,
                         "peak_rss_mib": (inc_rss or 0) / MIB})
            if inc["type"] != "incremental" or inc_bytes > 1.05 * 64 * MIB:
                missed.append("incremental_bytes")

            before = ids(sim)
            rest, rest_s, rest_rss = run_module(sim, "vm_restore", {
                "repository": repo, "vm": "big", "point": full["point"], "name": "big-restored", "verify": False})
            up = sum(t["bytes"] for t in sim.admin("GET", "/transfers")
                     if t["id"] not in before and t["direction"] == "upload")
            rows.append({"case": "restore of the full (no read-back)", "moved_mib": up / MIB, "seconds": rest_s,
                         "mib_s": data / MIB / rest_s, "convert_mib_s": data / MIB / conv_s,
                         "ratio": conv_s / rest_s, "peak_rss_mib": (rest_rss or 0) / MIB})
            if conv_s / rest_s < 0.5:
                missed.append("restore_throughput_ratio")

            mem = int(args.memory_gib * GIB)
            make_vm(sim, "mem", mem)
            write(sim, "mem", 0, mem, 0x7c)
            _out, mem_s, mem_rss = run_module(sim, "vm_backup", {"name": "mem", "repository": repo})
            rows.append({"case": "full of a %.0f GiB disk, all data" % args.memory_gib, "seconds": mem_s,
                         "mib_s": mem / MIB / mem_s, "peak_rss_mib": (mem_rss or 0) / MIB, "limit_rss_mib": 256})
            if mem_rss is None or mem_rss >= 256 * MIB:
                missed.append("peak_rss")
            payload = {"rows": rows, "convert_seconds": conv_s, "data_bytes": data}
    finally:
        shutil.rmtree(state, ignore_errors=True)
    table("Backup data plane (bytes from the simulator's imageio daemon; ratio = qemu-img convert time / ours)",
          rows, ["case", "moved_mib", "limit_mib", "seconds", "mib_s", "convert_mib_s", "ratio", "peak_rss_mib",
                 "limit_rss_mib"])
    return finish("backup", payload, missed)


if __name__ == "__main__":
    sys.exit(main())
