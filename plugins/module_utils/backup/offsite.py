# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Off-site copies of a backup repository in an S3 bucket (docs/backup.md, "Off-site copies").

The bucket mirrors the repository layout under a prefix::

    s3://BUCKET/PREFIX/sre-ovirt-repository.json
    s3://BUCKET/PREFIX/vms/VM-ID/points/POINT-ID/DISK-ID.qcow2     metadata sha256=<hex of the file>
    s3://BUCKET/PREFIX/vms/VM-ID/points/POINT-ID/manifest.json     uploaded LAST: a point is complete when it has one

A point without its manifest in the bucket is incomplete: it is never fetched, and the next upload completes it
(objects already there with the right size and sha256 are kept, multipart uploads left over are resumed part by
part, or aborted). Removing a point deletes its manifest first, so a point is never complete and half there.

Streaming: a file is read once, part by part (at most ``workers + 1`` parts in memory), its sha256 computed on the
way and compared with the manifest before the upload is completed; every part carries its own SHA256 checksum
when ``checksums`` is on (the server refuses a part that does not match), and each object is checked after the
upload (size, sha256 metadata, the server's composite checksum when it returns one).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import os
import signal
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

try:
    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    from botocore.exceptions import (BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError,
                                     ProfileNotFound, SSLError)
    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
except ImportError:  # pragma: no cover
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.sre.ovirt.plugins.module_utils.backup import images
from ansible_collections.sre.ovirt.plugins.module_utils.backup.repository import (
    MANIFEST, MARKER, POINT_ID, Repository, RepositoryError, parse_time)

MIB = 1 << 20
MIN_PART = 5 * MIB            # S3's smallest part (all but the last)
MAX_PARTS = 10000             # S3's most parts in one upload
META_SHA256 = "sha256"
# A test hook: the process kills itself (SIGKILL, like the OOM killer or a lost host) once this many bytes of
# disk data were sent, leaving a multipart upload behind. Never set it outside tests.
KILL_ENV = "SRE_OVIRT_OFFSITE_TEST_KILL_AFTER_BYTES"


class OffsiteError(Exception):
    """The bucket or the repository cannot be used; ``field`` names the option at fault."""

    def __init__(self, message, field="bucket"):
        super(OffsiteError, self).__init__(message)
        self.field = field


class Mismatch(OffsiteError):
    """An object is not what was uploaded (size, sha256, checksum, encryption or storage class)."""


def b64(digest):
    return base64.b64encode(digest).decode("ascii")


def part_size_for(size, part_size):
    """The part size a file of ``size`` bytes is sent with: ``part_size``, larger when the file needs more than
    10,000 parts (rounded up to whole MiB, so the same file is always cut the same way and can be resumed)."""
    need = -(-size // MAX_PARTS)
    need = -(-need // MIB) * MIB
    return max(part_size, need, MIN_PART)


def client_errors(exc, bucket, endpoint):
    """An OffsiteError naming the option at fault for a boto3/botocore exception (never the secret)."""
    if isinstance(exc, ProfileNotFound):
        return OffsiteError("profile: %s" % exc, field="profile")
    if isinstance(exc, NoCredentialsError):
        return OffsiteError("aws_access_key_id: no S3 credentials; set aws_access_key_id and aws_secret_access_key, "
                            "the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY variables or a profile",
                            field="aws_access_key_id")
    if isinstance(exc, SSLError):
        return OffsiteError("ca_bundle: TLS verification of %s failed: %s" % (endpoint or "S3", exc), field="ca_bundle")
    if isinstance(exc, EndpointConnectionError):
        return OffsiteError("endpoint_url: cannot connect to %s" % (endpoint or exc), field="endpoint_url")
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("InvalidAccessKeyId",):
            return OffsiteError("aws_access_key_id: the S3 server does not know this access key",
                                field="aws_access_key_id")
        if code in ("SignatureDoesNotMatch",):
            return OffsiteError("aws_secret_access_key: the S3 server refused the signature (wrong secret key)",
                                field="aws_secret_access_key")
        if code in ("NoSuchBucket", "404") or status == 404:
            return OffsiteError("bucket: %s does not exist" % bucket, field="bucket")
        if code in ("AccessDenied", "403") or status == 403:
            return OffsiteError("bucket: access to %s denied (%s): check the credentials and the bucket policy" % (
                bucket, err.get("Message") or code), field="bucket")
        if code == "InvalidObjectState":
            return OffsiteError("storage_class: an object is archived (%s) and must be restored in S3 before it can "
                                "be fetched" % err.get("Message", code), field="storage_class")
        return OffsiteError("bucket: S3 %s: %s" % (code or status, err.get("Message") or exc), field="bucket")
    return OffsiteError("bucket: %s" % exc, field="bucket")


def make_client(params):
    """A boto3 S3 client from the module's options (None values fall back to boto3's own: AWS_* variables,
    the shared config and credentials files, instance roles)."""
    checksums = params.get("checksums", True)
    cfg = Config(max_pool_connections=max(10, params.get("parallel", 8) + 4),
                 retries={"max_attempts": 5, "mode": "standard"},
                 request_checksum_calculation="when_supported" if checksums else "when_required",
                 response_checksum_validation="when_supported" if checksums else "when_required")
    verify = params.get("validate_certs", True)
    if verify and params.get("ca_bundle"):
        verify = params["ca_bundle"]
    try:
        session = boto3.session.Session(
            aws_access_key_id=params.get("aws_access_key_id") or None,
            aws_secret_access_key=params.get("aws_secret_access_key") or None,
            aws_session_token=params.get("session_token") or None,
            profile_name=params.get("profile") or None, region_name=params.get("region") or None)
        return session.client("s3", endpoint_url=params.get("endpoint_url") or None, verify=verify, config=cfg)
    except (BotoCoreError, ValueError) as exc:
        raise client_errors(exc, params.get("bucket"), params.get("endpoint_url"))


class Progress:
    """Bytes sent, thread-safe; applies the test hook (KILL_ENV)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent = 0
        limit = os.environ.get(KILL_ENV)
        self.kill_after = int(limit) if limit else None

    def add(self, n):
        with self.lock:
            self.sent += n
            if self.kill_after is not None and self.sent >= self.kill_after:
                os.kill(os.getpid(), signal.SIGKILL)


class Bucket:
    """One bucket and prefix: listing, streaming uploads with checksums, resume, deletes, downloads."""

    def __init__(self, client, bucket, prefix="", sse=None, kms_key_id=None, storage_class=None, checksums=True,
                 part_size=8 * MIB, workers=8, endpoint=None):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.sse = sse
        self.kms_key_id = kms_key_id
        self.storage_class = storage_class
        self.checksums = checksums
        self.part_size = max(part_size, MIN_PART)
        self.workers = max(1, workers)
        self.endpoint = endpoint
        self.progress = Progress()
        self.requests = {"put": 0, "delete": 0, "get": 0}

    # -- names -------------------------------------------------------------------------------------
    def key(self, *parts):
        return "/".join(([self.prefix] if self.prefix else []) + list(parts))

    def point_key(self, vm_id, point_id, name=""):
        return self.key("vms", vm_id, "points", point_id, name) if name else self.key("vms", vm_id, "points", point_id)

    def url(self, key=""):
        return "s3://%s/%s" % (self.bucket, key)

    def _call(self, name, **kwargs):
        try:
            return getattr(self.client, name)(**kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise client_errors(exc, self.bucket, self.endpoint)

    # -- reading -----------------------------------------------------------------------------------
    def check(self):
        """The bucket exists and the credentials may read it; fails naming the option at fault."""
        self._call("head_bucket", Bucket=self.bucket)

    def scan(self):
        """What the prefix holds: ``marker`` (bool), ``points`` {(vm_id, point_id): {name: size}}, ``other`` keys."""
        out = {"marker": False, "points": {}, "other": []}
        root = self.key("")
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=root):
                for obj in page.get("Contents", []):
                    rel = obj["Key"][len(root):]
                    parts = rel.split("/")
                    if rel == MARKER:
                        out["marker"] = True
                    elif len(parts) == 5 and parts[0] == "vms" and parts[2] == "points" and POINT_ID.match(parts[3]):
                        out["points"].setdefault((parts[1], parts[3]), {})[parts[4]] = obj["Size"]
                    else:
                        out["other"].append(obj["Key"])
        except (BotoCoreError, ClientError) as exc:
            raise client_errors(exc, self.bucket, self.endpoint)
        return out

    def get_bytes(self, key):
        self.requests["get"] += 1
        body = self._call("get_object", Bucket=self.bucket, Key=key)["Body"]
        try:
            return body.read()
        finally:
            body.close()

    def manifests(self, point_keys):
        """{(vm_id, point_id): (bytes, dict)} of the manifests of complete points, fetched in parallel."""
        def one(vp):
            data = self.get_bytes(self.point_key(vp[0], vp[1], MANIFEST))
            try:
                return vp, (data, json.loads(data.decode("utf-8")))
            except ValueError:
                return vp, (data, None)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return dict(pool.map(one, sorted(point_keys)))

    def head(self, key):
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            raise client_errors(exc, self.bucket, self.endpoint)
        except BotoCoreError as exc:
            raise client_errors(exc, self.bucket, self.endpoint)

    def uploads(self):
        """Multipart uploads in progress under the prefix: [{key, upload_id, initiated}]."""
        out = []
        paginator = self.client.get_paginator("list_multipart_uploads")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.key("")):
                for up in page.get("Uploads", []):
                    out.append({"key": up["Key"], "upload_id": up["UploadId"],
                                "initiated": str(up.get("Initiated", "")),
                                "storage_class": up.get("StorageClass") or "STANDARD"})
        except (BotoCoreError, ClientError) as exc:
            raise client_errors(exc, self.bucket, self.endpoint)
        return out

    def parts(self, key, upload_id):
        out = {}
        paginator = self.client.get_paginator("list_parts")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Key=key, UploadId=upload_id):
                for p in page.get("Parts", []):
                    out[p["PartNumber"]] = p
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            raise client_errors(exc, self.bucket, self.endpoint)
        return out

    # -- writing -----------------------------------------------------------------------------------
    def _object_args(self, archive=True):
        args = {}
        if self.sse:
            args["ServerSideEncryption"] = self.sse
            if self.sse.startswith("aws:kms") and self.kms_key_id:
                args["SSEKMSKeyId"] = self.kms_key_id
        if self.storage_class and archive:
            args["StorageClass"] = self.storage_class
        return args

    def put_bytes(self, key, data, archive=False):
        """A small object (manifest, marker) in one PUT, with its sha256 as metadata and checksum. Manifests and
        the marker always stay in the standard class (they are read on every run)."""
        digest = hashlib.sha256(data).digest()
        args = dict(Bucket=self.bucket, Key=key, Body=data, Metadata={META_SHA256: digest.hex()},
                    **self._object_args(archive=archive))
        if self.checksums:
            args["ChecksumSHA256"] = b64(digest)
        self.requests["put"] += 1
        self._call("put_object", **args)

    def abort(self, key, upload_id):
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404:
                raise client_errors(exc, self.bucket, self.endpoint)
        except BotoCoreError as exc:
            raise client_errors(exc, self.bucket, self.endpoint)
        self.requests["delete"] += 1

    def delete(self, keys):
        """Delete keys in batches of 1000, in the order given (callers put manifests first)."""
        keys = list(keys)
        for i in range(0, len(keys), 1000):
            batch = keys[i:i + 1000]
            res = self._call("delete_objects", Bucket=self.bucket,
                             Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
            self.requests["delete"] += 1
            if res.get("Errors"):
                e = res["Errors"][0]
                raise OffsiteError("bucket: cannot delete %s: %s %s" % (e.get("Key"), e.get("Code"), e.get("Message")))

    def upload_file(self, key, path, sha256_hex, resume=()):
        """``_upload_file``; when a resumed upload was started with other encryption or metadata (the options or the
        file changed since), the object is sent again from scratch."""
        try:
            return self._upload_file(key, path, sha256_hex, resume)
        except Mismatch:
            if not resume:
                raise
            self.delete([key])
            return self._upload_file(key, path, sha256_hex, ())

    def _upload_file(self, key, path, sha256_hex, resume=()):
        """Upload ``path`` to ``key`` streaming, checked against ``sha256_hex`` (the manifest's), resuming one of
        the multipart uploads ``resume`` (upload ids for this key) when its parts match the file; the others are
        aborted. Returns {bytes_sent, bytes_resumed, parts}."""
        size = os.path.getsize(path)
        part = part_size_for(size, self.part_size)
        if size <= part:
            for upload_id in resume:
                self.abort(key, upload_id)
            with open(path, "rb") as f:
                data = f.read()
            if hashlib.sha256(data).hexdigest() != sha256_hex:
                raise OffsiteError("repository: %s is damaged (its sha256 differs from the manifest's); nothing of it "
                                   "was uploaded" % path, field="repository")
            self.put_bytes(key, data, archive=True)
            self.progress.add(len(data))
            self.verify(key, size, sha256_hex, b64(hashlib.sha256(data).digest()))
            return {"bytes_sent": size, "bytes_resumed": 0, "parts": 1}
        upload_id, old = None, {}
        for candidate in resume:
            parts = self.parts(key, candidate) if upload_id is None else None
            if parts is not None and upload_id is None:
                upload_id, old = candidate, parts
            else:
                self.abort(key, candidate)
        if upload_id is None:
            args = dict(Bucket=self.bucket, Key=key, Metadata={META_SHA256: sha256_hex}, **self._object_args())
            if self.checksums:
                args["ChecksumAlgorithm"] = "SHA256"
            self.requests["put"] += 1
            upload_id = self._call("create_multipart_upload", **args)["UploadId"]
        # a damaged local file aborts the upload; an S3 failure leaves it for the next run to resume
        done, digests, sent, resumed = self._send_parts(key, upload_id, path, size, part, sha256_hex, old)
        parts = []
        for n in sorted(done):
            p = {"PartNumber": n, "ETag": done[n]["ETag"]}
            if self.checksums:
                p["ChecksumSHA256"] = b64(digests[n])
            parts.append(p)
        self.requests["put"] += 1
        self._call("complete_multipart_upload", Bucket=self.bucket, Key=key, UploadId=upload_id,
                   MultipartUpload={"Parts": parts})
        composite = b64(hashlib.sha256(b"".join(digests[n] for n in sorted(digests))).digest()) + "-%d" % len(parts)
        self.verify(key, size, sha256_hex, composite)
        return {"bytes_sent": sent, "bytes_resumed": resumed, "parts": len(parts)}

    def _send_parts(self, key, upload_id, path, size, part, sha256_hex, old):
        whole = hashlib.sha256()
        digests, done, futures = {}, {}, []
        sent = [0]
        resumed = 0
        gate = threading.BoundedSemaphore(self.workers + 1)
        errors = []

        def send(n, data, digest):
            try:
                args = dict(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=data)
                if self.checksums:
                    args["ChecksumSHA256"] = b64(digest)
                res = self.client.upload_part(**args)
                done[n] = {"ETag": res["ETag"]}
                self.progress.add(len(data))
                sent[0] += len(data)
            except BaseException as exc:   # pylint: disable=broad-except
                errors.append(exc)
            finally:
                gate.release()

        count = max(1, -(-size // part))
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            with open(path, "rb") as f:
                for n in range(1, count + 1):
                    if errors:
                        break
                    data = f.read(part)
                    whole.update(data)
                    digest = hashlib.sha256(data).digest()
                    digests[n] = digest
                    prev = old.get(n)
                    if prev is not None and prev.get("Size") == len(data) and _same_part(prev, data, digest):
                        done[n] = {"ETag": prev["ETag"]}
                        resumed += len(data)
                        continue
                    gate.acquire()
                    futures.append(pool.submit(send, n, data, digest))
                    del data
        if errors:
            exc = errors[0]
            if isinstance(exc, (BotoCoreError, ClientError)):
                raise client_errors(exc, self.bucket, self.endpoint)
            raise exc
        if whole.hexdigest() != sha256_hex:
            self.abort(key, upload_id)
            raise OffsiteError("repository: %s is damaged (its sha256 differs from the manifest's); its upload was "
                               "aborted and the point stays incomplete in the bucket" % path, field="repository")
        return done, digests, sent[0], resumed

    def verify(self, key, size, sha256_hex, checksum=None):
        """The object is there with the size, sha256 metadata and (when the server keeps one) checksum expected."""
        head = self.head(key)
        problems = []
        if head is None:
            problems.append("it is missing")
        else:
            if head.get("ContentLength") != size:
                problems.append("size %s, expected %d" % (head.get("ContentLength"), size))
            if head.get("Metadata", {}).get(META_SHA256) != sha256_hex:
                problems.append("sha256 metadata %s, expected %s" % (head.get("Metadata", {}).get(META_SHA256),
                                                                     sha256_hex))
            theirs = head.get("ChecksumSHA256")
            if self.checksums and theirs and checksum and theirs.split("-")[0] != checksum.split("-")[0]:
                problems.append("server checksum %s, expected %s" % (theirs, checksum))
            if self.sse and head.get("ServerSideEncryption") != self.sse:
                problems.append("encryption %s, expected %s" % (head.get("ServerSideEncryption"), self.sse))
            if self.storage_class and (head.get("StorageClass") or "STANDARD") != self.storage_class:
                problems.append("storage class %s, expected %s" % (head.get("StorageClass") or "STANDARD",
                                                                   self.storage_class))
        if problems:
            raise Mismatch("bucket: %s after upload: %s" % (self.url(key), "; ".join(problems)))
        return head

    def download(self, key, path, sha256_hex):
        """Download ``key`` to ``path`` (parallel ranged GETs) and check its sha256, streaming."""
        cfg = TransferConfig(multipart_threshold=self.part_size, multipart_chunksize=self.part_size,
                             max_concurrency=self.workers)
        self.requests["get"] += 1
        try:
            self.client.download_file(self.bucket, key, path, Config=cfg)
        except (BotoCoreError, ClientError) as exc:
            raise client_errors(exc, self.bucket, self.endpoint)
        actual = images.file_sha256(path)
        if actual != sha256_hex:
            raise OffsiteError("bucket: %s is damaged (sha256 %s, the manifest records %s)" % (
                self.url(key), actual, sha256_hex))
        return os.path.getsize(path)


def _same_part(prev, data, digest):
    """An uploaded part holds these bytes: its SHA256 checksum when the server lists one, else its MD5 ETag."""
    theirs = prev.get("ChecksumSHA256")
    if theirs:
        return theirs == b64(digest)
    etag = prev.get("ETag", "").strip('"')
    return len(etag) == 32 and etag == hashlib.md5(data).hexdigest()  # nosec - S3's ETag, not a security check


# -- planning --------------------------------------------------------------------------------------
def local_points(repo, vm=None):
    """{vm_id: [(manifest dict, manifest bytes)]} of the repository, oldest first, for one VM (name or id) or all."""
    out = {}
    for vm_id in repo.vm_ids():
        pts = repo.points(vm_id)
        if not pts:
            continue
        if vm and vm not in (vm_id, pts[-1]["vm"]["name"]):
            continue
        rows = []
        for p in pts:
            with open(os.path.join(p["path"], MANIFEST), "rb") as f:
                rows.append((p, f.read()))
        out[vm_id] = rows
    return out


def ancestors(by_id, point_id):
    """The ids a point needs (its parents, up to the full)."""
    out = []
    seen = set([point_id])
    cur = by_id.get(point_id)
    while cur is not None and cur.get("parent") and cur["parent"] not in seen:
        out.append(cur["parent"])
        seen.add(cur["parent"])
        cur = by_id.get(cur["parent"])
    return out


def retention_plan(manifests, policy, now=None, planner=None):
    """Which of ``manifests`` (one VM's points) go from the bucket: the retention helper's plan, made safe for a
    bucket, where nothing is consolidated - a point a kept point reads through stays (until the repository's
    consolidated point, uploaded again, no longer needs it). Returns (remove ids, kept-because-needed ids)."""
    if planner is None:
        from ansible_collections.sre.ovirt.plugins.module_utils.backup import retention  # pylint: disable=import-outside-toplevel
        planner = retention.plan
    pts = sorted(manifests, key=lambda p: p["id"])
    try:
        result = planner(pts, policy, now)
    except ValueError as exc:
        raise OffsiteError("retention: %s" % exc, field="retention.%s" % getattr(exc, "field", "keep_last"))
    drop = set(r["id"] for r in result.get("remove", ()))
    by_id = dict((p["id"], p) for p in pts)
    keep = set(by_id) - drop
    needed = set()
    for pid in keep:
        needed.update(a for a in ancestors(by_id, pid) if a in drop)
    return sorted(drop - needed), sorted(needed)


def vm_name(rows):
    return rows[-1][0].get("vm", {}).get("name") if rows else None


class Sync:
    """Upload (``state: present``): what the bucket lacks, then retention. ``plan()`` only reads the bucket."""

    def __init__(self, bucket, repo, vm=None, retention=None, now=None, planner=None):
        self.bucket = bucket
        self.repo = repo
        self.vm = vm
        self.retention = retention
        self.now = now
        self.planner = planner

    def plan(self):
        b = self.bucket
        b.check()
        scan = b.scan()
        local = local_points(self.repo, self.vm)
        if self.vm and not local:
            raise OffsiteError("vm: no VM named %s in %s" % (self.vm, self.repo.path), field="vm")
        if not scan["marker"] and (scan["points"] or scan["other"]):
            raise OffsiteError("prefix: %s holds objects but is not an sre.ovirt repository (no %s); use an empty "
                               "prefix" % (b.url(b.key("")), MARKER), field="prefix")
        complete = [vp for vp, files in scan["points"].items() if MANIFEST in files]
        remote = b.manifests(complete)
        uploads = b.uploads()
        actions = {"marker": not scan["marker"], "upload": [], "remove": [], "kept_for_chain": [],
                   "abort": [], "remote_points": len(complete)}
        wanted_keys = set()
        vm_ids = set(local)
        if not self.vm:
            vm_ids |= set(vp[0] for vp in scan["points"])
        for vm_id in sorted(vm_ids):
            rows = local.get(vm_id, [])
            name = vm_name(rows)
            remote_vm = dict((vp[1], remote[vp]) for vp in remote if vp[0] == vm_id)
            if name is None and remote_vm:
                newest = remote_vm[max(remote_vm)][1] or {}
                name = newest.get("vm", {}).get("name")
            local_by_id = dict((m["id"], (m, raw)) for m, raw in rows)
            drop, needed = set(), []
            if self.retention:
                union = dict((pid, m) for pid, (raw, m) in remote_vm.items() if m is not None)
                union.update((pid, m) for pid, (m, raw) in local_by_id.items())
                drop, needed = retention_plan(list(union.values()), self.retention, self.now, self.planner)
                drop = set(drop)
                actions["kept_for_chain"] += [{"vm_id": vm_id, "vm": name, "point": p} for p in needed]
            for pid, (m, raw) in sorted(local_by_id.items()):
                if pid in drop:
                    continue
                there = remote_vm.get(pid)
                if there is not None and there[0] == raw:
                    continue
                files = scan["points"].get((vm_id, pid), {})
                item = {"vm_id": vm_id, "vm": name, "point": pid, "type": m.get("type"), "manifest": raw,
                        "stale_manifest": MANIFEST in files, "files": []}
                for rec in m.get("disks", []):
                    path = os.path.join(m["path"], rec["file"])
                    key = b.point_key(vm_id, pid, rec["file"])
                    item["files"].append({"file": rec["file"], "path": path, "key": key,
                                          "sha256": rec.get("file_sha256"), "size": rec.get("file_size"),
                                          "remote_size": files.get(rec["file"])})
                    wanted_keys.add(key)
                item["bytes"] = sum(f["size"] or 0 for f in item["files"])
                actions["upload"].append(item)
            for pid in sorted(set(remote_vm) & drop):
                keys = sorted(scan["points"][(vm_id, pid)])
                actions["remove"].append({"vm_id": vm_id, "vm": name, "point": pid, "reason": "retention",
                                          "keys": [b.point_key(vm_id, pid, k) for k in _manifest_first(keys)]})
            # incomplete points the repository no longer has: left by an interrupted run
            for (v, pid), files in sorted(scan["points"].items()):
                if v == vm_id and MANIFEST not in files and pid not in local_by_id:
                    actions["remove"].append({"vm_id": vm_id, "vm": name, "point": pid, "reason": "incomplete",
                                              "keys": [b.point_key(vm_id, pid, k) for k in sorted(files)]})
        by_key = {}
        for up in uploads:
            if up["key"] in wanted_keys:    # options changed since it began: verify() notices, it is sent again
                by_key.setdefault(up["key"], []).append(up["upload_id"])
            elif self._in_scope(up["key"], vm_ids):
                actions["abort"].append(up)
        for item in actions["upload"]:
            for f in item["files"]:
                f["resume"] = by_key.get(f["key"], [])
        return actions

    def _in_scope(self, key, vm_ids):
        rel = key[len(self.bucket.key("")):].split("/")
        if len(rel) >= 2 and rel[0] == "vms":
            return self.vm is None or rel[1] in vm_ids
        return self.vm is None

    def apply(self, actions):
        """Upload, then remove; returns what was done."""
        b = self.bucket
        done = {"uploaded": [], "removed": [], "aborted": [], "bytes_sent": 0, "bytes_resumed": 0,
                "files_skipped": 0}
        started = time.time()
        if actions["marker"]:
            with open(os.path.join(self.repo.path, MARKER), "rb") as f:
                b.put_bytes(b.key(MARKER), f.read())
        for up in actions["abort"]:
            b.abort(up["key"], up["upload_id"])
            done["aborted"].append(up["key"])
        for item in actions["upload"]:
            needs = []
            for f in item["files"]:
                if not f["sha256"]:
                    f["sha256"] = images.file_sha256(f["path"])
                if f["remote_size"] is not None and f["remote_size"] == f["size"] and not f["resume"]:
                    head = b.head(f["key"])
                    if head is not None and head.get("Metadata", {}).get(META_SHA256) == f["sha256"]:
                        done["files_skipped"] += 1
                        continue
                needs.append(f)
            if needs and item["stale_manifest"]:
                b.delete([b.point_key(item["vm_id"], item["point"], MANIFEST)])
            sent = resumed = 0
            for f in needs:
                res = b.upload_file(f["key"], f["path"], f["sha256"], resume=f["resume"])
                sent += res["bytes_sent"]
                resumed += res["bytes_resumed"]
            b.put_bytes(b.point_key(item["vm_id"], item["point"], MANIFEST), item["manifest"])
            done["uploaded"].append({"vm_id": item["vm_id"], "vm": item["vm"], "point": item["point"],
                                     "type": item["type"], "files": len(needs), "bytes_sent": sent,
                                     "bytes_resumed": resumed})
            done["bytes_sent"] += sent
            done["bytes_resumed"] += resumed
        removes = actions["remove"]
        if removes:
            # every manifest first: a point is never complete and half deleted
            b.delete([r["keys"][0] for r in removes if r["keys"] and r["keys"][0].endswith("/" + MANIFEST)])
            b.delete([k for r in removes for k in r["keys"] if not k.endswith("/" + MANIFEST)])
            done["removed"] = [dict((k, v) for k, v in r.items() if k != "keys") for r in removes]
        done["seconds"] = round(time.time() - started, 3)
        return done


def _manifest_first(names):
    return ([MANIFEST] if MANIFEST in names else []) + [n for n in names if n != MANIFEST]


# -- fetching --------------------------------------------------------------------------------------
class Fetch:
    """Download (``state: fetched``): a VM's points, or one point's chain, into a local repository."""

    def __init__(self, bucket, repo_path, vm=None, point=None):
        self.bucket = bucket
        self.repo_path = repo_path
        self.vm = vm
        self.point = point

    def plan(self):
        b = self.bucket
        b.check()
        scan = b.scan()
        if not scan["marker"]:
            raise OffsiteError("prefix: %s is not an sre.ovirt repository (no %s)" % (b.url(b.key("")), MARKER),
                               field="prefix")
        complete = [vp for vp, files in scan["points"].items() if MANIFEST in files]
        remote = b.manifests(complete)
        by_vm = {}
        for (vm_id, pid), (raw, m) in remote.items():
            if m is not None:
                by_vm.setdefault(vm_id, {})[pid] = (raw, m)
        chosen = sorted(by_vm)
        if self.vm:
            best = None
            for vm_id, pts in by_vm.items():
                newest = pts[max(pts)][1]
                if self.vm == vm_id or newest.get("vm", {}).get("name") == self.vm:
                    if best is None or max(pts) > best[1]:
                        best = (vm_id, max(pts))
            if best is None:
                names = sorted(set(str(pts[max(pts)][1].get("vm", {}).get("name")) for pts in by_vm.values()))
                raise OffsiteError("vm: no VM named %s in %s; VMs: %s" % (
                    self.vm, b.url(b.key("")), ", ".join(names) or "none"), field="vm")
            chosen = [best[0]]
        repo = Repository(self.repo_path)
        exists = os.path.isdir(repo.path) and os.path.exists(os.path.join(repo.path, MARKER))
        if exists:
            repo.open()
        elif os.path.isdir(repo.path) and os.listdir(repo.path):
            raise OffsiteError("repository: %s is not empty and not a backup repository; use an empty directory"
                               % repo.path, field="repository")
        items = []
        for vm_id in chosen:
            pts = by_vm[vm_id]
            ids = sorted(pts)
            if self.point:
                ids = self._chain(vm_id, pts)
            for pid in ids:
                raw, m = pts[pid]
                if exists and repo.read_manifest(vm_id, pid) is not None:
                    continue
                files = [{"file": d["file"], "sha256": d.get("file_sha256"), "size": d.get("file_size"),
                          "key": b.point_key(vm_id, pid, d["file"])} for d in m.get("disks", [])]
                items.append({"vm_id": vm_id, "vm": m.get("vm", {}).get("name"), "point": pid, "type": m.get("type"),
                              "manifest": raw, "files": files, "bytes": sum(f["size"] or 0 for f in files)})
        return {"fetch": items, "repository_exists": exists}

    def _chain(self, vm_id, pts):
        manifests = [m for raw, m in (pts[p] for p in sorted(pts)) if m.get("status", "good") == "good"]
        if not manifests:
            raise OffsiteError("vm: no usable point of %s in the bucket" % vm_id, field="vm")
        if self.point == "latest":
            top = manifests[-1]
        elif POINT_ID.match(self.point):
            found = [m for m in manifests if m["id"] == self.point]
            if not found:
                raise OffsiteError("point: no usable point %s in the bucket; points: %s" % (
                    self.point, ", ".join(m["id"] for m in manifests)), field="point")
            top = found[0]
        else:
            try:
                t = parse_time(self.point)
            except RepositoryError as exc:
                raise OffsiteError(str(exc), field="point")
            before = [m for m in manifests if m.get("finished_epoch", 0) <= t]
            if not before:
                raise OffsiteError("point: no point finished at or before %s; the oldest is %s" % (
                    self.point, manifests[0].get("finished_at")), field="point")
            top = before[-1]
        chain = [top["id"]]
        by_id = dict((p, pts[p][1]) for p in pts)
        for parent in ancestors(by_id, top["id"]):
            if parent not in by_id:
                raise OffsiteError("bucket: point %s needs %s, which is not complete in the bucket" % (
                    chain[-1], parent))
            chain.append(parent)
        last = by_id[chain[-1]]
        if last.get("parent") and last["parent"] not in by_id:
            raise OffsiteError("bucket: point %s needs %s, which is not complete in the bucket" % (
                last["id"], last["parent"]))
        return sorted(chain)

    def apply(self, plan):
        b = self.bucket
        repo = Repository(self.repo_path).open(create=True)
        done = {"fetched": [], "bytes_received": 0}
        started = time.time()
        for item in plan["fetch"]:
            partial = repo.begin(item["vm_id"], item["point"])
            try:
                got = 0
                for f in item["files"]:
                    got += b.download(f["key"], os.path.join(partial, f["file"]), f["sha256"])
                with open(os.path.join(partial, MANIFEST), "wb") as out:
                    out.write(item["manifest"])
                    out.flush()
                    os.fsync(out.fileno())
                os.rename(partial, repo.point_dir(item["vm_id"], item["point"]))
            except BaseException:
                repo.discard(partial)
                raise
            done["fetched"].append({"vm_id": item["vm_id"], "vm": item["vm"], "point": item["point"],
                                    "type": item["type"], "files": len(item["files"]), "bytes": got})
            done["bytes_received"] += got
        done["seconds"] = round(time.time() - started, 3)
        return done


# -- what the bucket held after the last run (read by backup_info) -----------------------------------
STATE = "offsite.json"


def record_state(repo_path, url, scan, now=None):
    """Write, next to the repository's points, which complete points the bucket ``url`` holds per VM (from a
    ``Bucket.scan()`` made after the run): backup_info reports it without credentials or a request."""
    points = {}
    for (vm_id, point_id), files in scan["points"].items():
        if MANIFEST in files:
            points.setdefault(vm_id, []).append(point_id)
    state = read_state(repo_path)
    state[url] = {"synced_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now or time.time())),
                  "vms": dict((vm_id, sorted(ids)) for vm_id, ids in points.items())}
    tmp = os.path.join(repo_path, STATE + ".tmp")
    with open(tmp, "w") as f:
        json.dump(state, f, indent=2, sort_keys=True)
    os.rename(tmp, os.path.join(repo_path, STATE))


def read_state(repo_path):
    try:
        with open(os.path.join(repo_path, STATE)) as f:
            return json.load(f)
    except (IOError, OSError, ValueError):
        return {}
