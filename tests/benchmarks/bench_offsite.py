# SPDX-License-Identifier: GPL-3.0-or-later
"""Off-site upload throughput: sre.ovirt.backup_offsite's upload (module_utils/backup/offsite.py: streaming
multipart, a sha256 of every file and a SHA256 checksum of every part, verification of every object) against a
plain boto3 ``upload_file`` of the same files (what ``aws s3 cp`` does), to the same local S3 server (moto's, in a
process of its own), in the same run. Each side runs in a process of its own, which reports its time and its peak
RSS; the rounds alternate, and the best round of each side is compared.

Target: offsite throughput >= 50 % of ``upload_file``'s; also reported: the peak RSS of the upload (bounded by
``parallel + 1`` parts whatever the file size) and the fetch throughput (download + sha256 check).

Prints a table, writes ``results/offsite.json`` and exits 1 if the target is missed.

    .venv/bin/python tests/benchmarks/bench_offsite.py [--mib 512] [--rounds 2]
"""

import argparse
import hashlib
import json
import os
import resource
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

from tests.support.collection import collections_path  # noqa: E402
from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY, start_s3  # noqa: E402

sys.path.insert(0, collections_path())
MIB = 1 << 20
BUCKET = "sre-ovirt-bench"


def make_repository(path, total_mib):
    """A repository with one VM: a full (two disks, 3/4 of the data) and an incremental (1/4), random bytes."""
    from ansible_collections.sre.ovirt.plugins.module_utils.backup.repository import Repository
    repo = Repository(path).open(create=True)
    t = time.time()
    layout = [("20261127T010000Z-0000000a", None, [total_mib * 3 // 8, total_mib * 3 // 8]),
              ("20261127T020000Z-0000000b", "20261127T010000Z-0000000a", [total_mib // 4])]
    for i, (pid, parent, sizes) in enumerate(layout):
        partial = repo.begin("bench-vm", pid)
        disks = []
        for n, mib in enumerate(sizes):
            name = "disk%d.qcow2" % n
            h = hashlib.sha256()
            with open(os.path.join(partial, name), "wb") as f:
                for _block in range(mib):
                    block = os.urandom(MIB)
                    h.update(block)
                    f.write(block)
            disks.append(dict(disk_id="disk%d" % n, alias="disk%d" % n, file=name, file_size=mib * MIB,
                              file_sha256=h.hexdigest()))
        repo.publish("bench-vm", pid, partial, dict(
            id=pid, type="incremental" if parent else "full", parent=parent, vm={"id": "bench-vm", "name": "bench"},
            disks=disks, started_epoch=t + i, finished_epoch=t + i, finished_at="", status="good"))
    return repo


def files_of(repo_path):
    out = []
    for root, _dirs, names in os.walk(os.path.join(repo_path, "vms")):
        out += [os.path.join(root, n) for n in sorted(names) if n.endswith(".qcow2")]
    return sorted(out)


def child(args):
    """One side of one round, in its own process: prints {seconds, bytes, maxrss_kib}."""
    import boto3
    from boto3.s3.transfer import TransferConfig
    if args.child == "baseline":
        client = boto3.client("s3", endpoint_url=args.url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                              aws_secret_access_key=SECRET_KEY)
        paths = files_of(args.repo)
        started = time.perf_counter()
        for path in paths:
            client.upload_file(path, BUCKET, args.prefix + "/" + os.path.relpath(path, args.repo),
                               Config=TransferConfig())
        seconds = time.perf_counter() - started
        nbytes = sum(os.path.getsize(p) for p in paths)
    else:
        from ansible_collections.sre.ovirt.plugins.module_utils.backup import offsite
        from ansible_collections.sre.ovirt.plugins.module_utils.backup.repository import Repository
        params = dict(endpoint_url=args.url, region=REGION, aws_access_key_id=ACCESS_KEY,
                      aws_secret_access_key=SECRET_KEY, bucket=BUCKET, parallel=8)
        bucket = offsite.Bucket(offsite.make_client(params), BUCKET, args.prefix, part_size=8 * MIB, workers=8)
        if args.child == "offsite":
            sync = offsite.Sync(bucket, Repository(args.repo).open())
            started = time.perf_counter()
            done = sync.apply(sync.plan())
            seconds = time.perf_counter() - started
            nbytes = done["bytes_sent"]
        else:
            fetch = offsite.Fetch(bucket, args.repo)
            started = time.perf_counter()
            done = fetch.apply(fetch.plan())
            seconds = time.perf_counter() - started
            nbytes = done["bytes_received"]
    print(json.dumps({"seconds": seconds, "bytes": nbytes,
                      "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def run_child(kind, url, repo, prefix):
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", kind, "--url", url, "--repo", repo,
                           "--prefix", prefix], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError("%s failed: %s" % (kind, proc.stderr[-3000:]))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def empty(s3, prefix):
    c = s3.client()
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/"):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            c.delete_objects(Bucket=BUCKET, Delete={"Objects": keys, "Quiet": True})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=512, help="data in the repository (MiB)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--child")
    ap.add_argument("--url")
    ap.add_argument("--repo")
    ap.add_argument("--prefix")
    args = ap.parse_args()
    if args.child:
        child(args)
        return 0
    work = tempfile.mkdtemp(prefix="sre-ovirt-bench-offsite-")
    try:
        repo = make_repository(os.path.join(work, "repo"), args.mib)
        with start_s3(work) as s3:
            s3.client().create_bucket(Bucket=BUCKET)
            rows, best = [], {}
            for r in range(args.rounds):
                for kind in ("baseline", "offsite") if r % 2 == 0 else ("offsite", "baseline"):
                    prefix = "%s-%d" % (kind, r)
                    res = run_child(kind, s3.url, repo.path, prefix)
                    mibs = res["bytes"] / MIB / res["seconds"]
                    rows.append({"round": r + 1, "what": kind, "MiB": round(res["bytes"] / MIB, 1),
                                 "seconds": res["seconds"], "MiB/s": mibs, "peak RSS MiB": res["maxrss_kib"] / 1024.0})
                    if kind not in best or mibs > best[kind]["MiB/s"]:
                        best[kind] = rows[-1]
                    if kind == "offsite" and r == args.rounds - 1:
                        fetched = run_child("fetch", s3.url, os.path.join(work, "fetched-%d" % r), prefix)
                        fmibs = fetched["bytes"] / MIB / fetched["seconds"]
                        rows.append({"round": r + 1, "what": "fetch", "MiB": round(fetched["bytes"] / MIB, 1),
                                     "seconds": fetched["seconds"], "MiB/s": fmibs,
                                     "peak RSS MiB": fetched["maxrss_kib"] / 1024.0})
                        best["fetch"] = rows[-1]
                    empty(s3, prefix)
        ratio = best["offsite"]["MiB/s"] / best["baseline"]["MiB/s"]
        table("Upload to a local S3 server (moto), %d MiB in 3 files, %d rounds" % (args.mib, args.rounds), rows,
              ["round", "what", "MiB", "seconds", "MiB/s", "peak RSS MiB"])
        print("\noffsite / upload_file throughput: %.0f %%" % (100 * ratio))
        missed = []
        if ratio < 0.5:
            missed.append("offsite throughput %.0f %% of upload_file (target >= 50 %%)" % (100 * ratio))
        return finish("offsite", {"data_mib": args.mib, "rounds": rows, "best": best, "ratio": ratio,
                                  "targets": {"ratio_min": 0.5}}, missed)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
