# SPDX-License-Identifier: GPL-3.0-or-later
"""The conformance suite: clients we did not write, run unchanged against ovirt-engine-sim.

Results go to ``tests/output/conformance/*.json`` and the counts to the end of pytest's report."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))              # ``conformance`` importable as a package-less module


@pytest.fixture(scope="session")
def published():
    from conformance import published as pub
    return pub


def pytest_terminal_summary(terminalreporter):
    from conformance.report import RESULTS
    for name, summary in sorted(RESULTS.items()):
        terminalreporter.write_line("conformance %s: %s" % (name, ", ".join(
            "%s=%s" % kv for kv in sorted(summary.items()))))
