# SPDX-License-Identifier: GPL-3.0-or-later
"""Playbooks that use the official ``ovirt.ovirt`` collection (from PyPI's ``ansible`` package, pinned) the way
its users do, each on a simulator of its own. Every ``op:`` task must succeed."""

import glob
import os
import re
import shutil
import tempfile

import pytest

from conformance import official
from conformance.report import write_result

PLAYBOOKS = sorted(p for p in glob.glob(os.path.join(official.HERE, "official", "*.yml"))
                   if not os.path.basename(p).startswith("_"))
OUTCOMES = {}


def header(playbook, key, default):
    """``# seed: patch`` / ``# time_scale: 0.002`` lines at the top of a playbook choose its simulator."""
    with open(playbook) as f:
        for line in f:
            if not line.startswith("#"):
                break
            m = re.match(r"#\s*%s:\s*(\S+)" % key, line)
            if m:
                return m.group(1)
    return default


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=[os.path.basename(p) for p in PLAYBOOKS])
def test_playbook(published, playbook):
    from ovirt_engine_sim.testing import start_simulator
    collections = published.official_collections()
    state = tempfile.mkdtemp(prefix="official-")
    scale = float(header(playbook, "time_scale", "0.01"))
    second_seed = header(playbook, "second_seed", None)    # two sites (dr.yml): a second simulator, ``secondary``
    try:
        with start_simulator(os.path.join(state, "primary"), seed=header(playbook, "seed", "default"),
                             time_scale=scale) as sim:
            if second_seed is None:
                res = official.run(sim, collections, playbook)
            else:
                with start_simulator(os.path.join(state, "secondary"), seed=second_seed, time_scale=scale) as other:
                    res = official.run(sim, collections, playbook, extra_vars=official.two_sites(sim, other))
    finally:
        shutil.rmtree(state, ignore_errors=True)
    OUTCOMES[res["playbook"]] = res
    failed = [o for o in res["operations"] if not o["ok"]]
    assert res["operations"], "no op: tasks ran\n" + res["stderr"] + res["stdout"]
    assert not failed, "\n".join("%s: %s" % (o["name"], o["message"]) for o in failed)
    assert res["rc"] == 0, res["stderr"] + res["stdout"]


def test_counts(published):
    assert len(OUTCOMES) == len(PLAYBOOKS), "run the whole module: the counts need every playbook"
    ops = [o for r in OUTCOMES.values() for o in r["operations"]]
    summary = {"playbooks": len(PLAYBOOKS), "operations_tried": len(ops),
               "operations_passing": sum(1 for o in ops if o["ok"])}
    write_result("official_collection", {
        "collection": "ovirt.ovirt %s" % published.collection_version(published.official_collections()),
        "ansible": published.ANSIBLE_PIN, "summary": summary,
        "playbooks": dict((k, {"operations": v["operations"], "seconds": v["seconds"]})
                          for k, v in OUTCOMES.items())})
    assert summary["operations_passing"] == summary["operations_tried"]
