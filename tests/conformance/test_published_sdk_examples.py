# SPDX-License-Identifier: GPL-3.0-or-later
"""The SDK's published examples (ovirt-engine-sdk-python's source distribution, pinned), each run unmodified
against one simulator in the catalogue's order. An example that fails without an ``out_of_scope`` entry fails the
suite, and so does a published example the catalogue does not list."""

import os
import shutil
import tempfile

import pytest

from conformance import prepare, sdk_examples
from conformance.report import write_result

DATA, ENTRIES = sdk_examples.load_catalogue()
OUTCOMES = {}
TARGET_SHARE = 0.90


@pytest.fixture(scope="module")
def runner(published):
    from ovirt_engine_sim.testing import start_simulator
    work = tempfile.mkdtemp(prefix="sdk-examples-")
    try:
        with start_simulator(os.path.join(work, "engine"), seed=DATA.get("seed", "default"),
                             time_scale=float(DATA.get("time_scale", 0.01))) as sim:
            r = sdk_examples.ExampleRunner(sim, published.sdk_examples(), work)
            yield r
            r.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["script"] for e in ENTRIES])
def test_example(runner, entry):
    if "out_of_scope" in entry:
        OUTCOMES[entry["script"]] = {"verdict": "out_of_scope", "reason": entry["out_of_scope"],
                                     "comes_with": entry.get("comes_with")}
        pytest.skip(entry["out_of_scope"])
    prepare.before(runner, entry)
    res = runner.run(entry)
    OUTCOMES[entry["script"]] = {"verdict": "pass" if res["ok"] else "fail", "seconds": res["seconds"],
                                 "problem": res["problem"]}
    assert res["ok"], "%s: %s\n%s" % (entry["script"], res["problem"], res["output"])


def test_counts(published):
    """Every published example is in the catalogue; every in-scope one passed; in scope ≥ 90 % of the published
    examples that do not wait for the backup or DR work."""
    scripts = sorted(f for f in os.listdir(published.sdk_examples()) if f.endswith(".py"))
    listed = [e["script"] for e in ENTRIES]
    assert sorted(set(scripts) - set(listed)) == [], "published examples missing from sdk_examples.yml"
    assert sorted(set(listed) - set(scripts)) == [], "catalogue entries that are not published examples"
    assert len(OUTCOMES) == len(ENTRIES), "run the whole module: the counts need every example"
    later = [e["script"] for e in ENTRIES if e.get("comes_with")]
    in_scope = [e["script"] for e in ENTRIES if "out_of_scope" not in e]
    passing = [s for s in in_scope if OUTCOMES[s]["verdict"] == "pass"]
    summary = {"published": len(scripts), "in_scope": len(in_scope), "passing": len(passing),
               "waiting_for_backup_or_dr": len(later),
               "in_scope_share_of_rest": round(len(in_scope) / float(len(scripts) - len(later)), 3)}
    write_result("sdk_examples", {"sdk": published.SDK_PIN, "summary": summary, "examples": OUTCOMES})
    assert passing == in_scope
    assert summary["in_scope_share_of_rest"] >= TARGET_SHARE, summary
