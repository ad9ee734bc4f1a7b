# SPDX-License-Identifier: GPL-3.0-or-later
"""The published clients the conformance suite runs, fetched from PyPI at the pinned versions and cached.

- ``sdk_examples()``: the ``examples/`` folder of the ovirt-engine-sdk-python source distribution, as published.
- ``official_collections()``: ``ovirt.ovirt`` and ``ansible.posix`` taken from PyPI's ``ansible`` wheel into a
  collections directory of their own (the wheel's ansible-core is not installed, so the project's pinned
  ansible-core runs them and nothing shadows it).

The cache lives in ``$SRE_OVIRT_CACHE`` (default ``~/.cache/sre-ovirt``); a fresh machine downloads once.
"""

import glob
import os
import subprocess
import sys
import tarfile
import zipfile

SDK_PIN = "ovirt-engine-sdk-python==4.6.3"
ANSIBLE_PIN = "ansible==12.3.0"          # carries ovirt.ovirt 3.2.1 and ansible.posix, for ansible-core 2.19
OFFICIAL_COLLECTIONS = ("ovirt/ovirt", "ansible/posix")


def cache_dir():
    base = os.environ.get("SRE_OVIRT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "sre-ovirt")
    os.makedirs(base, exist_ok=True)
    return base


def _download(pin, dest, sdist):
    found = glob.glob(os.path.join(dest, "*.tar.gz" if sdist else "*.whl"))
    if found:
        return found[0]
    os.makedirs(dest, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps", "-d", dest,
           pin]
    cmd[-1:-1] = ["--no-binary", ":all:"] if sdist else ["--only-binary", ":all:"]
    subprocess.run(cmd, check=True)
    found = glob.glob(os.path.join(dest, "*.tar.gz" if sdist else "*.whl"))
    if not found:
        raise RuntimeError("pip download %s left nothing in %s" % (pin, dest))
    return found[0]


def sdk_examples():
    """Path of the published ``examples/`` directory of the pinned SDK."""
    name = SDK_PIN.replace("==", "-")
    root = os.path.join(cache_dir(), name)
    examples = os.path.join(root, "examples")
    if not os.path.isdir(examples):
        archive = _download(SDK_PIN, os.path.join(root, "dist"), sdist=True)
        tmp = root + ".part"
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if "/examples/" in m.name and m.isfile()]
            for m in members:
                m.name = m.name.split("/examples/", 1)[1]
            tar.extractall(os.path.join(tmp, "examples"), members=members, filter="data")
        os.replace(os.path.join(tmp, "examples"), examples)
        os.rmdir(tmp)
    return examples


def official_collections():
    """A directory to use as ANSIBLE_COLLECTIONS_PATH holding the published ovirt.ovirt and ansible.posix."""
    name = ANSIBLE_PIN.replace("==", "-")
    root = os.path.join(cache_dir(), name)
    done = os.path.join(root, "collections", ".complete")
    if not os.path.exists(done):
        wheel = _download(ANSIBLE_PIN, os.path.join(root, "dist"), sdist=False)
        prefixes = tuple("ansible_collections/%s/" % c for c in OFFICIAL_COLLECTIONS)
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(os.path.join(root, "collections"),
                          members=[n for n in zf.namelist() if n.startswith(prefixes)])
        open(done, "w").close()
    return os.path.join(root, "collections")


def collection_version(collections, name="ovirt/ovirt"):
    import json
    with open(os.path.join(collections, "ansible_collections", name, "MANIFEST.json")) as f:
        return json.load(f)["collection_info"]["version"]
