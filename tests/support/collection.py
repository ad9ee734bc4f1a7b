# SPDX-License-Identifier: GPL-3.0-or-later
"""Put this checkout where Ansible, ansible-test and molecule look for it:
``<tmp>/ansible_collections/sre/ovirt`` as a symlink to the repository (the repository is not moved)."""

import hashlib
import os
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def collections_path(base=None):
    """Return a directory to use as ANSIBLE_COLLECTIONS_PATH (it holds ``ansible_collections/sre/ovirt``)."""
    # One directory per checkout, so two checkouts (or CI jobs) on one machine never re-point each other's link.
    tag = hashlib.sha1(REPO.encode()).hexdigest()[:10]
    base = base or os.path.join(tempfile.gettempdir(), "sre-ovirt-collections-%d-%s" % (os.getuid(), tag))
    ns = os.path.join(base, "ansible_collections", "sre")
    os.makedirs(ns, exist_ok=True)
    link = os.path.join(ns, "ovirt")
    if os.path.islink(link) and os.readlink(link) != REPO:
        os.unlink(link)
    if not os.path.lexists(link):
        try:
            os.symlink(REPO, link)
        except FileExistsError:
            pass
    return base


def ansible_env(sim=None, extra=None):
    """Environment for ansible-playbook: the collection path, the venv first on PATH, and the simulator's
    OVIRT_* variables (what AWX injects)."""
    env = dict(os.environ)
    venv_bin = os.path.join(REPO, ".venv", "bin")
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    env["ANSIBLE_COLLECTIONS_PATH"] = collections_path()
    env["ANSIBLE_COLLECTIONS_SCAN_SYS_PATH"] = "false"
    env["ANSIBLE_PYTHON_INTERPRETER"] = os.path.join(venv_bin, "python")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_RETRY_FILES_ENABLED"] = "0"
    env["ANSIBLE_LOCALHOST_WARNING"] = "false"
    env["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "false"
    env.pop("ANSIBLE_CONFIG", None)
    if sim is not None:
        env.update(sim.env())
    env.update(extra or {})
    return env
