import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from ovirt_engine_sim.testing import start_simulator  # noqa: E402


@pytest.fixture(scope="module")
def sim():
    state = tempfile.mkdtemp(prefix="sre-ovirt-it-")
    try:
        with start_simulator(state, time_scale=0.01) as running:
            yield running
    finally:
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def fresh_sim():
    state = tempfile.mkdtemp(prefix="sre-ovirt-it-")
    try:
        with start_simulator(state, time_scale=0.01) as running:
            yield running
    finally:
        shutil.rmtree(state, ignore_errors=True)
