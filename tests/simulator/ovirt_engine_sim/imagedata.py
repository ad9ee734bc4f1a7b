# SPDX-License-Identifier: GPL-3.0-or-later
"""What a guest sees on its disks: writes through ``qemu-io`` and checksums of the guest-visible content.

A guest write goes through qemu's block layer on the disk's active top volume, so the qcow2's enabled persistent
dirty bitmaps (the checkpoints of incremental backup, backups.py) record it exactly as a running VM's writes would.
The checksum is the sha256 of the whole virtual size read as raw: the image is exported read-only with ``qemu-nbd``,
its extents are asked over NBD, data extents are read and zero extents hashed from a constant buffer, so a 10 GiB
thin image costs what it holds."""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time

from ovirt_imageio._internal import nbd

CHUNK = 4 << 20
_ZEROS = bytes(CHUNK)


def image_format(path):
    with open(path, "rb") as f:
        return "qcow2" if f.read(4) == b"QFI\xfb" else "raw"


def guest_write(path, offset, length, pattern):
    """Write ``length`` bytes of ``pattern`` (0-255) at ``offset`` of the image, as a guest does."""
    offset, length, pattern = int(offset), int(length), int(pattern)
    if offset < 0 or length <= 0 or not 0 <= pattern <= 255:
        raise ValueError("offset must be >= 0, length > 0 and pattern 0-255")
    if offset + length > virtual_size(path):
        raise ValueError("write beyond the end of the disk (virtual size %d)" % virtual_size(path))
    proc = subprocess.run(["qemu-io", "-f", image_format(path), "-c",
                           "write -P %d %d %d" % (pattern, offset, length), path],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0 or "error" in (proc.stdout + proc.stderr).lower():
        raise RuntimeError("qemu-io write failed: %s" % (proc.stderr or proc.stdout).strip())


def image_info(path, backing_chain=False):
    args = ["qemu-img", "info", "-U", "--output=json"] + (["--backing-chain"] if backing_chain else []) + [path]
    proc = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def virtual_size(path):
    return int(image_info(path)["virtual-size"])


class Export:
    """A read-only ``qemu-nbd`` export of an image (with its backing chain) on a private unix socket; optionally
    with a dirty bitmap (``qemu:dirty-bitmap:NAME``)."""

    def __init__(self, path, fmt=None, bitmap=None):
        self.tmp = tempfile.mkdtemp(prefix="sim-nbd-")
        self.sock = os.path.join(self.tmp, "sock")
        args = ["qemu-nbd", "--read-only", "--persistent", "--shared=4", "--socket", self.sock,
                "--format", fmt or image_format(path)]
        if bitmap:
            args += ["--bitmap", bitmap]
        self.proc = subprocess.Popen(args + [path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60      # qemu-nbd took over 10 s to start on a loaded 2-core machine
        while not os.path.exists(self.sock):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode() if self.proc.poll() is not None else "timeout"
                self.close()
                raise RuntimeError("qemu-nbd failed: %s" % err.strip())
            time.sleep(0.01)
        self.bitmap = bitmap

    def client(self):
        return nbd.Client(nbd.UnixAddress(self.sock), "", dirty=bool(self.bitmap))

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _walk(client, ctx):
    """(offset, length, extent) over the whole export for one metadata context."""
    size = client.export_size
    offset = 0
    while offset < size:
        step = min(size - offset, 1 << 30)
        for ext in client.extents(offset, step)[ctx]:
            length = min(ext.length, size - offset)
            yield offset, length, ext
            offset += length
            if offset >= size:
                break


def guest_sha256(path):
    """sha256 of the guest-visible content (the whole virtual size as raw) and the virtual size."""
    h = hashlib.sha256()
    with Export(path) as exp:
        c = exp.client()
        try:
            size = c.export_size
            buf = bytearray(CHUNK)
            for offset, length, ext in _walk(c, "base:allocation"):
                end = offset + length
                if ext.zero:
                    while offset < end:
                        n = min(CHUNK, end - offset)
                        h.update(_ZEROS[:n])
                        offset += n
                    continue
                while offset < end:
                    n = min(CHUNK, end - offset)
                    view = memoryview(buf)[:n]
                    c.readinto(offset, view)
                    h.update(view)
                    offset += n
        finally:
            c.close()
    return {"sha256": h.hexdigest(), "virtual_size": size}


def dirty_ranges(path, bitmap):
    """The ranges (start, length) a dirty bitmap of the image marks, merged where adjacent."""
    out = []
    with Export(path, bitmap=bitmap) as exp:
        c = exp.client()
        try:
            ctx = "qemu:dirty-bitmap:%s" % bitmap
            for offset, length, ext in _walk(c, ctx):
                if ext.flags & nbd.EXTENT_DIRTY:
                    if out and out[-1][0] + out[-1][1] == offset:
                        out[-1] = (out[-1][0], out[-1][1] + length)
                    else:
                        out.append((offset, length))
        finally:
            c.close()
    return out
