#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: backup_offsite
short_description: Off-site copies of a backup repository in an S3 bucket - upload, retention, fetch back
version_added: 0.1.0
description:
  - With O(state=present), uploads the restore points of a backup repository (see M(sre.ovirt.vm_backup)) that the
    bucket does not hold yet, with C(boto3). The bucket mirrors the repository layout under O(prefix) (see
    docs/backup.md, "Off-site copies"). Files are streamed in parts (multipart upload, several parts at a time);
    each file's sha256 is computed while it is read and compared with the point's manifest before the upload is
    completed, stored as the object's C(sha256) metadata and, with O(checksums), each part carries a SHA256
    checksum the server checks. Every object is checked after the upload (size, sha256, the server's checksum).
  - A point's C(manifest.json) is uploaded last, so a point without its manifest in the bucket is incomplete; the
    next run completes it, keeping the objects already there and resuming multipart uploads left by an interrupted
    run part by part (parts whose checksum matches the file are not sent again). Uploads left over that are not
    needed any more are aborted.
  - With O(retention), the retention policy (the same rules as the repository's, see
    M(sre.ovirt.backup_retention)) is applied to the bucket's points; a point that a kept point reads through is
    never removed. Points the policy would remove are not uploaded.
  - With O(state=fetched), downloads a VM's points (or the chain of one O(point)) from the bucket into the local
    repository O(repository), checking every file's sha256 against the manifest, and publishes each point only when
    complete, so M(sre.ovirt.vm_restore) can restore from it when the site that held the repository is lost.
  - With O(state=copied), copies the files in O(src) (for example the Engine's own C(engine-backup) archives) to
    O(prefix)/NAME, with the same streaming, checksums and checks; a file the bucket already holds with the same
    sha256 is not sent again, and O(keep_newest) removes the older objects like them.
  - Talks to no Engine.
author:
  - SRE oVirt team (@sre-ovirt)
options:
  state:
    description:
      - V(present) uploads to the bucket what it lacks and applies O(retention).
      - V(fetched) downloads points from the bucket into O(repository).
      - V(copied) copies the files in O(src).
    type: str
    choices: [present, fetched, copied]
    default: present
  repository:
    description: The local backup repository - the source for O(state=present), the destination for
      O(state=fetched) (created when missing; it must then be an empty or missing directory). Required for those
      states.
    type: path
  src:
    description: With O(state=copied), the files to copy (each goes to O(prefix)/its file name).
    type: list
    elements: path
  keep_newest:
    description: With O(state=copied), keep only this many objects directly under O(prefix) whose names end like
      the copied files (the same extension; C(engine-backup) names sort by time), removing the older ones.
    type: int
  bucket:
    description: The S3 bucket.
    type: str
    required: true
  prefix:
    description: Where in the bucket the repository lives (a folder-like key prefix; empty for the bucket's root).
    type: str
    default: ""
  vm:
    description: Only this VM (its name as backed up, or its id). All VMs when omitted.
    type: str
  point:
    description:
      - With O(state=fetched), only the chain of this point (the full and the incrementals up to it) -
        V(latest), a point id, or an ISO 8601 time (the newest point finished at or before it). Every point of the
        VM(s) when omitted.
    type: str
  retention:
    description: The retention policy for the bucket's points (O(state=present)). Nothing is removed without it.
    type: dict
    suboptions:
      keep_last:
        description: Keep the N newest points.
        type: int
      keep_hourly:
        description: Keep the newest point of each of the N newest hours with a point.
        type: int
      keep_daily:
        description: Keep the newest point of each of the N newest days with a point.
        type: int
      keep_weekly:
        description: Keep the newest point of each of the N newest ISO weeks with a point.
        type: int
      keep_monthly:
        description: Keep the newest point of each of the N newest months with a point.
        type: int
      keep_yearly:
        description: Keep the newest point of each of the N newest years with a point.
        type: int
      keep_within:
        description: Keep every point younger than this duration (C(36h), C(14d), C(1y6m)), counted back from the
          newest usable point.
        type: str
  endpoint_url:
    description: The S3 endpoint (MinIO, Ceph RGW, another provider). Defaults to AWS (or C(AWS_ENDPOINT_URL_S3) /
      C(AWS_ENDPOINT_URL)).
    type: str
  region:
    description: The bucket's region. Defaults to C(AWS_REGION) / C(AWS_DEFAULT_REGION) or the profile's.
    type: str
  aws_access_key_id:
    description: The access key. Defaults to C(AWS_ACCESS_KEY_ID), the profile, or an instance role.
    type: str
  aws_secret_access_key:
    description: The secret key. Defaults to C(AWS_SECRET_ACCESS_KEY) or the profile. Never logged or returned.
    type: str
  session_token:
    description: A session token for temporary credentials. Defaults to C(AWS_SESSION_TOKEN).
    type: str
  profile:
    description: A profile of the AWS shared configuration and credentials files. Defaults to C(AWS_PROFILE).
    type: str
  validate_certs:
    description: Verify the endpoint's TLS certificate.
    type: bool
    default: true
  ca_bundle:
    description: CA certificates (PEM) to verify the endpoint with, instead of the system's.
    type: path
  sse:
    description: Server-side encryption of the uploaded objects.
    type: str
    choices: [AES256, "aws:kms", "aws:kms:dsse"]
  kms_key_id:
    description: The KMS key for O(sse=aws:kms). The bucket's default key when omitted.
    type: str
  storage_class:
    description:
      - Storage class of the disk objects (manifests and the repository marker stay C(STANDARD), they are read on
        every run). An archived class (C(GLACIER), C(DEEP_ARCHIVE)) must be restored in S3 before a fetch.
    type: str
    choices: [STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE,
              REDUCED_REDUNDANCY]
  checksums:
    description: Send a SHA256 checksum with every part and object for the server to check. Turn off only for an
      S3 server that does not support flexible checksums; the sha256 metadata and the checks after each upload
      stay.
    type: bool
    default: true
  part_size:
    description: Multipart part size in MiB (at least 5; larger when a file would need more than 10,000 parts).
      At most O(parallel) + 1 parts are in memory at a time.
    type: int
    default: 8
  parallel:
    description: How many parts are sent (or received) at the same time.
    type: int
    default: 8
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Lists the points that would be uploaded, fetched or removed and the multipart uploads that would be
      aborted; reads the bucket, sends nothing to it and writes nothing locally.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
notes:
  - Not in the C(group/sre.ovirt.engine) action group - it takes no Engine connection.
  - Requires C(boto3) where the module runs (the controller or a backup host, where the repository is).
  - The credentials are never returned or logged.
requirements:
  - boto3
seealso:
  - module: sre.ovirt.vm_backup
  - module: sre.ovirt.vm_restore
  - module: sre.ovirt.backup_info
"""

EXAMPLES = r"""
- name: Copy new restore points off-site, keeping 30 daily and 12 monthly points there
  sre.ovirt.backup_offsite:
    repository: /srv/backups/ovirt
    bucket: ovirt-backups
    prefix: site-a
    region: eu-central-1
    sse: "aws:kms"
    storage_class: STANDARD_IA
    retention:
      keep_daily: 30
      keep_monthly: 12

- name: Site lost - fetch web1's newest point (and the points it needs) into a new repository
  sre.ovirt.backup_offsite:
    state: fetched
    repository: /srv/restore/ovirt
    bucket: ovirt-backups
    prefix: site-a
    vm: web1
    point: latest

- name: Then restore it
  sre.ovirt.vm_restore:
    repository: /srv/restore/ovirt
    vm: web1
    state: running
"""

RETURN = r"""
url:
  description: The bucket and prefix, as C(s3://BUCKET/PREFIX/).
  returned: always
  type: str
uploaded:
  description: The points uploaded (or, in check mode, that would be) - vm_id, vm, point, type, files (files sent),
    bytes_sent, bytes_resumed (parts of an interrupted upload that were already there).
  returned: state=present
  type: list
  elements: dict
copied:
  description: With O(state=copied), the keys written (files the bucket did not hold with the same sha256).
  returned: state=copied
  type: list
  elements: str
removed_objects:
  description: With O(state=copied) and O(keep_newest), the keys removed (or that would be).
  returned: state=copied
  type: list
  elements: str
removed:
  description: The points removed from the bucket (or that would be) - vm_id, vm, point, reason (C(retention), or
    C(incomplete) for the objects of an interrupted upload of a point the repository no longer has).
  returned: state=present
  type: list
  elements: dict
kept_for_chain:
  description: Points the retention policy lets go but a kept point reads through, so they stay in the bucket.
  returned: state=present
  type: list
  elements: dict
aborted_uploads:
  description: Keys of multipart uploads left by interrupted runs that were aborted.
  returned: state=present
  type: list
  elements: str
fetched:
  description: The points downloaded (or that would be) - vm_id, vm, point, type, files, bytes.
  returned: state=fetched
  type: list
  elements: dict
bytes:
  description: Bytes sent (C(present)) or received (C(fetched)).
  returned: always
  type: int
seconds:
  description: Time spent moving data.
  returned: always
  type: float
mib_per_second:
  description: Throughput of the data moved.
  returned: always
  type: float
points_in_bucket:
  description: Complete points in the bucket before this run.
  returned: state=present
  type: int
"""

import os
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

try:
    from ansible_collections.sre.ovirt.plugins.module_utils.backup import images, offsite
    from ansible_collections.sre.ovirt.plugins.module_utils.backup.repository import Repository, RepositoryError
except ImportError:  # pragma: no cover
    offsite = None
    IMPORT_ERROR = traceback.format_exc()
else:
    IMPORT_ERROR = None

MIB = 1 << 20
RETENTION = dict(keep_last=dict(type="int"), keep_hourly=dict(type="int"), keep_daily=dict(type="int"),
                 keep_weekly=dict(type="int"), keep_monthly=dict(type="int"), keep_yearly=dict(type="int"),
                 keep_within=dict(type="str"))


def argument_spec():
    return dict(
        state=dict(type="str", choices=["present", "fetched", "copied"], default="present"),
        repository=dict(type="path"),
        src=dict(type="list", elements="path"),
        keep_newest=dict(type="int"),
        bucket=dict(type="str", required=True),
        prefix=dict(type="str", default=""),
        vm=dict(type="str"),
        point=dict(type="str"),
        retention=dict(type="dict", options=RETENTION),
        endpoint_url=dict(type="str"),
        region=dict(type="str"),
        aws_access_key_id=dict(type="str", no_log=False, fallback=(env_fallback, ["AWS_ACCESS_KEY_ID"])),
        aws_secret_access_key=dict(type="str", no_log=True, fallback=(env_fallback, ["AWS_SECRET_ACCESS_KEY"])),
        session_token=dict(type="str", no_log=True, fallback=(env_fallback, ["AWS_SESSION_TOKEN"])),
        profile=dict(type="str"),
        validate_certs=dict(type="bool", default=True),
        ca_bundle=dict(type="path"),
        sse=dict(type="str", choices=["AES256", "aws:kms", "aws:kms:dsse"]),
        kms_key_id=dict(type="str", no_log=False),
        storage_class=dict(type="str", choices=["STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
                                                "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE", "REDUCED_REDUNDANCY"]),
        checksums=dict(type="bool", default=True),
        part_size=dict(type="int", default=8),
        parallel=dict(type="int", default=8),
    )


def check_params(p):
    """What Ansible cannot check, before anything is read or sent: (message, option) or None."""
    if bool(p["aws_access_key_id"]) != bool(p["aws_secret_access_key"]):
        missing = "aws_secret_access_key" if p["aws_access_key_id"] else "aws_access_key_id"
        return ("%s: aws_access_key_id and aws_secret_access_key go together (options or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY); %s is missing" % (missing, missing), missing)
    if p["part_size"] < 5:
        return "part_size: S3's smallest part is 5 MiB, got %d" % p["part_size"], "part_size"
    if p["parallel"] < 1:
        return "parallel: must be 1 or more, got %d" % p["parallel"], "parallel"
    if p["kms_key_id"] and not (p["sse"] or "").startswith("aws:kms"):
        return "kms_key_id: needs sse=aws:kms (or aws:kms:dsse)", "kms_key_id"
    if p["state"] == "copied" and not p["src"]:
        return "src: state=copied needs the files to copy", "src"
    if p["state"] != "copied" and not p["repository"]:
        return "repository: required with state=%s" % p["state"], "repository"
    if (p["src"] or p["keep_newest"] is not None) and p["state"] != "copied":
        return "src: only with state=copied", "src"
    if p["keep_newest"] is not None and p["keep_newest"] < 1:
        return "keep_newest: must be 1 or more, got %d" % p["keep_newest"], "keep_newest"
    if p["point"] and p["state"] != "fetched":
        return "point: only with state=fetched (an upload copies every point the bucket lacks)", "point"
    if p["retention"] and p["state"] != "present":
        return "retention: only with state=present", "retention"
    if p["retention"] is not None and not any(v for v in p["retention"].values()):
        return ("retention: set at least one of keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, "
                "keep_yearly, keep_within", "retention")
    if p["ca_bundle"] and not p["validate_certs"]:
        return "ca_bundle: has no effect with validate_certs=false", "ca_bundle"
    if p["prefix"].strip("/") != p["prefix"].strip().strip("/") or "//" in p["prefix"]:
        return "prefix: %r has empty or blank path segments" % p["prefix"], "prefix"
    return None


def _rate(nbytes, seconds):
    return round(nbytes / MIB / seconds, 1) if seconds > 0 else 0.0


def run(module, p):
    client = offsite.make_client(p)
    bucket = offsite.Bucket(client, p["bucket"], p["prefix"], sse=p["sse"], kms_key_id=p["kms_key_id"],
                            storage_class=p["storage_class"], checksums=p["checksums"], part_size=p["part_size"] * MIB,
                            workers=p["parallel"], endpoint=p["endpoint_url"])
    result = dict(changed=False, url=bucket.url(bucket.key("")), bytes=0, seconds=0.0,
                  mib_per_second=0.0)
    if p["state"] == "copied":
        return copy_files(module, bucket, p, result)
    if p["state"] == "fetched":
        fetch = offsite.Fetch(bucket, p["repository"], vm=p["vm"], point=p["point"])
        plan = fetch.plan()
        result["fetched"] = [dict(vm_id=i["vm_id"], vm=i["vm"], point=i["point"], type=i["type"],
                                  files=len(i["files"]), bytes=i["bytes"]) for i in plan["fetch"]]
        result["changed"] = bool(plan["fetch"]) or not plan["repository_exists"]
        if module.check_mode or not result["changed"]:
            return result
        done = fetch.apply(plan)
        result.update(fetched=done["fetched"], bytes=done["bytes_received"], seconds=done["seconds"],
                      mib_per_second=_rate(done["bytes_received"], done["seconds"]))
        return result
    repo = Repository(p["repository"]).open()
    sync = offsite.Sync(bucket, repo, vm=p["vm"], retention=p["retention"])
    actions = sync.plan()
    result.update(points_in_bucket=actions["remote_points"], kept_for_chain=actions["kept_for_chain"],
                  aborted_uploads=[u["key"] for u in actions["abort"]],
                  uploaded=[dict(vm_id=i["vm_id"], vm=i["vm"], point=i["point"], type=i["type"],
                                 files=len(i["files"]), bytes_sent=i["bytes"], bytes_resumed=0)
                            for i in actions["upload"]],
                  removed=[dict((k, v) for k, v in r.items() if k != "keys") for r in actions["remove"]])
    result["changed"] = bool(actions["upload"] or actions["remove"] or actions["abort"] or actions["marker"])
    if module.check_mode:
        return result
    if result["changed"]:
        done = sync.apply(actions)
        result.update(uploaded=done["uploaded"], removed=done["removed"], aborted_uploads=done["aborted"],
                      bytes=done["bytes_sent"], seconds=done["seconds"],
                      mib_per_second=_rate(done["bytes_sent"], done["seconds"]))
    try:    # what the bucket holds now, for backup_info (a local file: the next run rewrites it)
        offsite.record_state(repo.path, result["url"], bucket.scan())
    except (IOError, OSError) as exc:
        module.warn("could not record the off-site state in %s: %s" % (repo.path, exc))
    return result


def copy_files(module, bucket, p, result):
    """state=copied: each file to PREFIX/NAME unless the bucket holds it with the same sha256; then keep_newest."""
    plan = []
    for path in p["src"]:
        if not os.path.isfile(path):
            raise offsite.OffsiteError("src: %s is not a file" % path, field="src")
        sha = images.file_sha256(path)
        key = bucket.key(os.path.basename(path))
        head = bucket.head(key)
        if head is None or (head.get("Metadata") or {}).get(offsite.META_SHA256) != sha:
            plan.append((key, path, sha))
    remove = []
    if p["keep_newest"]:
        suffixes = set(os.path.splitext(path)[1] for path in p["src"])
        root = bucket.key("")
        keys = set(k for k, _path, _sha in plan)
        for page in bucket.client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket.bucket, Prefix=root, Delimiter="/"):
            keys.update(o["Key"] for o in page.get("Contents", []) if os.path.splitext(o["Key"])[1] in suffixes)
        remove = sorted(keys, reverse=True)[p["keep_newest"]:]
    result.update(changed=bool(plan or remove), copied=[k for k, _path, _sha in plan], removed_objects=remove)
    if module.check_mode or not result["changed"]:
        return result
    started = time.time()
    sent = 0
    for key, path, sha in plan:
        bucket.upload_file(key, path, sha)
        sent += os.path.getsize(path)
    if remove:
        bucket.delete(remove)
    seconds = round(time.time() - started, 3)
    result.update(bytes=sent, seconds=seconds, mib_per_second=_rate(sent, seconds))
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if offsite is None:
        module.fail_json(msg="cannot load the collection's module_utils", exception=IMPORT_ERROR)
    if not offsite.HAS_BOTO3:
        module.fail_json(msg=missing_required_lib("boto3"), exception=offsite.BOTO3_IMPORT_ERROR)
    problem = check_params(module.params)
    if problem:
        module.fail_json(msg=problem[0], field=problem[1], changed=False)
    try:
        result = run(module, module.params)
    except offsite.OffsiteError as exc:
        module.fail_json(msg=str(exc), field=exc.field)
    except RepositoryError as exc:
        module.fail_json(msg=str(exc), field=exc.field)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
