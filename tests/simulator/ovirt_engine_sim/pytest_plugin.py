# SPDX-License-Identifier: GPL-3.0-or-later
"""pytest fixtures: ``engine_sim`` (one simulator per test module, default seed, 100x clock) and
``fresh_engine_sim`` (one per test). Options: ``--sim-time-scale``."""

import pytest

from .testing import start_simulator


def pytest_addoption(parser):
    group = parser.getgroup("ovirt-engine-sim")
    group.addoption("--sim-time-scale", type=float, default=0.01,
                    help="real seconds per simulated second for the engine_sim fixtures")


@pytest.fixture(scope="module")
def engine_sim(request, tmp_path_factory):
    scale = request.config.getoption("--sim-time-scale")
    with start_simulator(str(tmp_path_factory.mktemp("engine-sim")), time_scale=scale) as sim:
        yield sim


@pytest.fixture
def fresh_engine_sim(request, tmp_path):
    scale = request.config.getoption("--sim-time-scale")
    with start_simulator(str(tmp_path / "engine-sim"), time_scale=scale) as sim:
        yield sim
