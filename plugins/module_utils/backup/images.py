# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Disk bytes on the controller: moving them with ovirt-imageio's client, and hashing them.

Two checksums describe a restore point's disk: ``file_sha256`` (the qcow2 file as stored, to detect damage in
the repository) and ``guest_sha256`` (the guest-visible content: the whole virtual size read as raw, zero
extents hashed as zeros without being read). The Engine simulator's ``/sim/.../checksum`` computes the second
the same way, so a restored disk can be compared with the disk the point was taken from."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import subprocess

try:
    from ovirt_imageio import client as imageio_client
    from ovirt_imageio.client import _api as imageio_api
    HAS_IMAGEIO = True
except ImportError:  # pragma: no cover - reported by the modules with missing_required_lib
    imageio_client = imageio_api = None
    HAS_IMAGEIO = False

CHUNK = 4 * 1024 * 1024
_ZEROS = bytes(CHUNK)


class ImageError(Exception):
    pass


def qemu_img(*args):
    proc = subprocess.run(["qemu-img"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)
    if proc.returncode != 0:
        raise ImageError("qemu-img %s: %s" % (args[0], proc.stderr.strip() or "exit %d" % proc.returncode))
    return proc.stdout


def info(path, chain=False):
    args = ["info", "--output=json", "-U"] + (["--backing-chain"] if chain else []) + [path]
    return json.loads(qemu_img(*args))


def measure(path, fmt="qcow2"):
    """Bytes a copy of the image (its whole chain) needs in ``fmt``: the Engine's ``initial_size`` for uploads."""
    return json.loads(qemu_img("measure", "--output=json", "-O", fmt, path))["required"]


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(CHUNK)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def _hash_extents(extents, read, size):
    """sha256 over ``size`` guest bytes: ``read(offset, view)`` fills data extents, zero extents are hashed as
    zeros. Streaming: one CHUNK buffer whatever the disk size."""
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    pos = 0
    for ext in extents:
        if ext.start != pos:
            raise ImageError("extents not contiguous at %d (next starts at %d)" % (pos, ext.start))
        remaining = ext.length
        offset = ext.start
        while remaining:
            n = min(CHUNK, remaining)
            if ext.zero:
                h.update(_ZEROS[:n])
            else:
                view = memoryview(buf)[:n]
                read(offset, view)
                h.update(view)
            offset += n
            remaining -= n
        pos = ext.start + ext.length
    if pos != size:
        raise ImageError("extents end at %d, the image is %d bytes" % (pos, size))
    return h.hexdigest()


def guest_sha256(path):
    """The guest-visible content of a local image (with its backing chain) as sha256."""
    fmt = info(path)["format"]
    with imageio_api._open_nbd(path, fmt, read_only=True) as backend:
        size = backend.size()

        def read(offset, view):
            backend.seek(offset)
            got = 0
            while got < len(view):
                n = backend.readinto(view[got:])
                if not n:
                    raise ImageError("short read at %d" % (offset + got))
                got += n
        return _hash_extents(list(backend.extents("zero")), read, size)


def remote_guest_sha256(transfer_url, cafile, secure=True, proxy_url=None):
    """The guest-visible content behind a download transfer (format raw) as sha256, read back through imageio."""
    with imageio_client.ImageioClient(transfer_url, cafile=cafile, secure=secure, proxy_url=proxy_url) as c:
        size = c.size()

        def read(offset, view):
            c.read(offset, view)
        return _hash_extents(list(c.extents("zero")), read, size)


def download(transfer_url, path, cafile, secure=True, proxy_url=None, backing_file=None, incremental=False,
             max_workers=4, progress=None):
    """A backup transfer into a new qcow2 file; an incremental downloads dirty extents only, over its backing file
    (given relative to ``path``'s directory, as it is stored)."""
    kwargs = dict(fmt="qcow2", incremental=incremental, secure=secure, proxy_url=proxy_url,
                  max_workers=max_workers, progress=progress)
    if backing_file:
        kwargs.update(backing_file=backing_file, backing_format="qcow2")
    # qemu resolves a relative backing file against the new image's directory: the stored name stays relative.
    imageio_client.download(transfer_url, path, cafile, **kwargs)


def upload(path, transfer_url, cafile, secure=True, proxy_url=None, max_workers=4, progress=None):
    """A local image (with its backing chain) into the disk behind an upload transfer; only data is sent (the new
    disk is known to be zero)."""
    imageio_client.upload(path, transfer_url, cafile, secure=secure, proxy_url=proxy_url, max_workers=max_workers,
                          progress=progress, disk_is_zero=True)
