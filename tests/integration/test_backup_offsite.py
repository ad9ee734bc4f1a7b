# SPDX-License-Identifier: GPL-3.0-or-later
"""Off-site copies: sre.ovirt.backup_offsite through ansible-playbook against a real S3 API server (moto's, in a
process of its own, tests/support/s3.py) and the simulator. Points are made by playbooks/backup_vms.yml; what the
bucket holds is read back with boto3 and hashed; what a restored disk holds is its guest-visible sha256."""

import hashlib
import json
import os
import shutil
import tempfile

import pytest

from tests.integration.harness import run_playbook
from tests.integration.test_backup_restore import checksum, make_vm, report, vm_checksums, write
from tests.support.collection import REPO
from tests.support.s3 import SECRET_KEY, start_s3

BACKUP = os.path.join(REPO, "playbooks", "backup_vms.yml")
RESTORE = os.path.join(REPO, "playbooks", "restore_vm.yml")
MIB = 1 << 20
VM = "off1"
DATA = VM + "_data"
BUCKET = "sre-ovirt-offsite"
PREFIX = "site-a"
KILL_ENV = "SRE_OVIRT_OFFSITE_TEST_KILL_AFTER_BYTES"


@pytest.fixture(scope="module")
def estate(sim):
    """A VM with three points (full, incremental, incremental), a repository and an empty bucket."""
    work = tempfile.mkdtemp(prefix="sre-ovirt-offsite-")
    s3 = start_s3(work)
    try:
        s3.client().create_bucket(Bucket=BUCKET)
        vm_id, _disks = make_vm(sim, name=VM)
        repo = os.path.join(work, "repo")
        sums = []
        for offset, length, pattern in ((0, 24 * MIB, 0x61), (300 * MIB, 4 * MIB, 0x62), (700 * MIB, 2 * MIB, 0x63)):
            write(sim, DATA, offset, length, pattern, vm=VM)
            run = backup(sim, repo)
            assert run.rc == 0, run.stdout[-3000:]
            assert report(run)[VM]["ok"], report(run)
            sums.append(checksum(sim, DATA, vm=VM))
        yield dict(sim=sim, s3=s3, repo=repo, work=work, vm_id=vm_id, sums=sums)
    finally:
        s3.stop()
        shutil.rmtree(work, ignore_errors=True)


def backup(sim, repo, **extra):
    ev = {"vm_backup_repository": repo, "vm_backup_vms": VM}
    ev.update(extra)
    return run_playbook(sim, BACKUP, extra_vars=ev)


def offsite(e, check=False, env=None, verbosity=0, callback="json", **args):
    params = dict(repository=e["repo"], bucket=BUCKET, prefix=PREFIX, endpoint_url=e["s3"].url, part_size=5)
    params.update(args)
    environment = e["s3"].env()
    environment.pop("AWS_ENDPOINT_URL_S3")
    environment.update(env or {})
    run = run_playbook(e["sim"], [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Offsite", "sre.ovirt.backup_offsite": params}]}], check=check, env=environment,
        verbosity=verbosity, callback=callback)
    res = run.results("Offsite") if callback == "json" else [{}]
    return run, (res[0] if res else {})


def local_points(e, repo=None):
    folder = os.path.join(repo or e["repo"], "vms", e["vm_id"], "points")
    return sorted(n for n in os.listdir(folder) if not n.startswith("."))


def bucket_state(e):
    """{point: {name: (size, sha256 of the bytes, sha256 metadata)}}, and the multipart uploads in progress."""
    c = e["s3"].client()
    points = {}
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX + "/vms/"):
        for obj in page.get("Contents", []):
            parts = obj["Key"].split("/")
            body = c.get_object(Bucket=BUCKET, Key=obj["Key"])
            h = hashlib.sha256()
            for chunk in body["Body"].iter_chunks(MIB):
                h.update(chunk)
            points.setdefault(parts[-2], {})[parts[-1]] = (obj["Size"], h.hexdigest(),
                                                           body["Metadata"].get("sha256"))
    uploads = c.list_multipart_uploads(Bucket=BUCKET, Prefix=PREFIX + "/").get("Uploads", [])
    return points, uploads


def assert_complete_and_checksummed(e, points, expect):
    """Every point in ``expect`` is in the bucket with its manifest (the same bytes as the repository's) and every
    disk file with the manifest's sha256 - of the bytes, and as metadata; no other point is there."""
    assert sorted(points) == sorted(expect), (sorted(points), expect)
    for pid in expect:
        with open(os.path.join(e["repo"], "vms", e["vm_id"], "points", pid, "manifest.json"), "rb") as f:
            raw = f.read()
        manifest = json.loads(raw)
        objs = points[pid]
        assert objs["manifest.json"][1] == hashlib.sha256(raw).hexdigest()
        assert sorted(objs) == sorted(["manifest.json"] + [d["file"] for d in manifest["disks"]])
        for d in manifest["disks"]:
            size, actual, meta = objs[d["file"]]
            assert (size, actual, meta) == (d["file_size"], d["file_sha256"], d["file_sha256"]), (pid, d["file"])


def test_check_mode_lists_what_would_be_uploaded_and_sends_nothing(estate):
    e = estate
    since = e["s3"].last_seq()
    run, res = offsite(e, check=True)
    assert run.rc == 0, run.stdout[-3000:]
    assert res["changed"] and [u["point"] for u in res["uploaded"]] == local_points(e)
    assert [u["type"] for u in res["uploaded"]] == ["full", "incremental", "incremental"]
    assert e["s3"].writes(since) == []
    assert bucket_state(e) == ({}, [])


def test_clear_errors_name_the_option_before_anything_is_sent(estate):
    e = estate
    since = e["s3"].last_seq()
    _run, res = offsite(e, bucket="no-such-bucket")
    assert res["failed"] and res["field"] == "bucket" and "does not exist" in res["msg"], res
    _run, res = offsite(e, part_size=1)
    assert res["failed"] and res["field"] == "part_size", res
    _run, res = offsite(e, kms_key_id="alias/backups")
    assert res["failed"] and res["field"] == "kms_key_id", res
    assert e["s3"].writes(since) == []


def test_an_interrupted_upload_resumes_and_the_bucket_holds_only_complete_points(estate):
    e = estate
    opts = dict(sse="AES256", storage_class="STANDARD_IA")
    run, res = offsite(e, env={KILL_ENV: str(12 * MIB)}, **opts)   # the module is killed after 12 MiB of disk data
    assert run.rc != 0 and res.get("failed"), run.stdout[-3000:]
    points, uploads = bucket_state(e)
    assert all("manifest.json" not in objs for objs in points.values()), points   # nothing looks complete
    assert uploads, "the killed run left its multipart upload"

    run, res = offsite(e, **opts)
    assert run.rc == 0, run.stdout[-3000:]
    assert res["changed"] and [u["point"] for u in res["uploaded"]] == local_points(e)
    full = res["uploaded"][0]
    assert full["bytes_resumed"] >= 5 * MIB, res["uploaded"]       # parts already there were not sent again
    points, uploads = bucket_state(e)
    assert uploads == []
    assert_complete_and_checksummed(e, points, local_points(e))
    c = e["s3"].client()
    data_key = max((k for k in points[full["point"]] if k != "manifest.json"), key=lambda k: points[full["point"]][k])
    head = c.head_object(Bucket=BUCKET, Key="%s/vms/%s/points/%s/%s" % (PREFIX, e["vm_id"], full["point"], data_key))
    assert head["ServerSideEncryption"] == "AES256" and head.get("StorageClass") == "STANDARD_IA"


def test_a_second_run_uploads_nothing_and_never_shows_the_secret(estate, tmp_path):
    e = estate
    since = e["s3"].last_seq()
    record = str(tmp_path / "callbacks.log")
    env = {"ANSIBLE_CALLBACKS_ENABLED": "record_everything", "RECORD_EVERYTHING_FILE": record,
           "ANSIBLE_CALLBACK_PLUGINS": os.path.join(REPO, "tests", "support", "callback_plugins"),
           "AWS_SECRET_ACCESS_KEY": "", "OFFSITE_SECRET": SECRET_KEY}
    run, _res = offsite(e, env=env, verbosity=3, callback="default",
                        aws_secret_access_key="{{ lookup('env', 'OFFSITE_SECRET') }}")
    assert run.rc == 0, run.stdout[-3000:]
    assert "changed=0" in run.stdout and e["s3"].writes(since) == []
    assert SECRET_KEY not in run.stdout + run.stderr
    with open(record) as f:
        seen = f.read()
    assert "v2_runner_on_ok" in seen and SECRET_KEY not in seen

    run, res = offsite(e)
    assert run.rc == 0 and not res["changed"] and res["uploaded"] == [] and res["bytes"] == 0, res
    assert res["points_in_bucket"] == 3
    # backup_info says where the VM's points are, from what this run saw in the bucket (no credentials needed)
    info = run_playbook(e["sim"], [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Info", "sre.ovirt.backup_info": {"repository": e["repo"]}}]}])
    state = info.results("Info")[0]["vms"][0]["offsite"]
    assert [(s["points"], s["missing"]) for s in state] == [(3, [])] and state[0]["url"].startswith("s3://")


def test_site_lost_the_vm_restores_from_the_bucket_alone(estate):
    e = estate
    expected = list(local_points(e))
    shutil.rmtree(e["repo"])                       # the site and its repository are gone
    dr = os.path.join(e["work"], "dr-repo")
    e["repo"] = dr
    run, res = offsite(e, state="fetched", vm=VM, point="latest")
    assert run.rc == 0, run.stdout[-3000:]
    assert [f["point"] for f in res["fetched"]] == expected       # the latest point and the points it needs
    assert local_points(e) == expected

    again, res = offsite(e, state="fetched", vm=VM)
    assert again.rc == 0 and not res["changed"], res

    run = run_playbook(e["sim"], RESTORE, extra_vars={"restore_repository": dr, "restore_vm": VM,
                                                      "restore_name": "off1-dr", "restore_verify": True})
    assert run.rc == 0, run.stdout[-4000:]
    restored = run.results("Restore " + VM)[0]
    assert restored["point"] == expected[-1] and all(d["verified"] for d in restored["disks"]), restored
    assert vm_checksums(e["sim"], "off1-dr")[DATA] == e["sums"][-1]


def test_retention_applies_to_the_bucket_and_keeps_what_kept_points_need(estate):
    e = estate          # the repository is now the one fetched back
    run, res = offsite(e, check=True, retention={"keep_last": 1})
    assert run.rc == 0, run.stdout[-3000:]
    assert res["removed"] == [] and len(res["kept_for_chain"]) == 2, res      # the newest reads through both

    run = backup(e["sim"], e["repo"], vm_backup_mode="full")
    assert run.rc == 0, run.stdout[-3000:]
    newest = local_points(e)[-1]
    since = e["s3"].last_seq()
    run, res = offsite(e, retention={"keep_last": 1})
    assert run.rc == 0, run.stdout[-3000:]
    assert [u["point"] for u in res["uploaded"]] == [newest]
    assert sorted(r["point"] for r in res["removed"]) == local_points(e)[:-1]
    assert e["s3"].writes(since)
    points, uploads = bucket_state(e)
    assert_complete_and_checksummed(e, points, [newest])
    assert uploads == []


def test_a_damaged_local_file_is_never_completed_in_the_bucket(estate):
    e = estate
    write(e["sim"], DATA, 800 * MIB, 12 * MIB, 0x64, vm=VM)
    run = backup(e["sim"], e["repo"])
    assert run.rc == 0, run.stdout[-3000:]
    newest = local_points(e)[-1]
    folder = os.path.join(e["repo"], "vms", e["vm_id"], "points", newest)
    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    damaged = max(manifest["disks"], key=lambda d: d["file_size"])
    with open(os.path.join(folder, damaged["file"]), "r+b") as f:      # bit rot after the backup: same size
        f.seek(damaged["file_size"] // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))
    _run, res = offsite(e)
    assert res["failed"] and res["field"] == "repository" and "damaged" in res["msg"], res
    points, uploads = bucket_state(e)
    assert "manifest.json" not in points.get(newest, {}) and uploads == []
    assert damaged["file"] not in points.get(newest, {})
