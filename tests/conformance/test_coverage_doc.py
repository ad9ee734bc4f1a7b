# SPDX-License-Identifier: GPL-3.0-or-later
"""docs/simulator.md says what the simulator covers from the suite's own lists, and says it currently."""

from conformance import coverage


def test_the_simulator_guide_lists_what_the_suite_covers():
    with open(coverage.DOC) as f:
        text = f.read()
    assert coverage.current_block(text) == coverage.render(), \
        "docs/simulator.md is stale: run python tests/conformance/coverage.py --write"
