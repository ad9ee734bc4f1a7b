# SPDX-License-Identifier: GPL-3.0-or-later
import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from ovirt_engine_sim.testing import start_simulator  # noqa: E402


def simulator(seed="default", time_scale=0.01):
    """A simulator on a state directory of its own, removed afterwards."""
    state = tempfile.mkdtemp(prefix="sre-ovirt-it-")
    try:
        with start_simulator(state, seed=seed, time_scale=time_scale) as running:
            yield running
    finally:
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="module")
def sim():
    yield from simulator()


@pytest.fixture
def fresh_sim():
    yield from simulator()


@pytest.fixture
def patch_estate():
    """The ``patch`` seed (12 hosts, 240 VMs, updates pending) on a fast clock, one per test."""
    yield from simulator(seed="patch", time_scale=0.002)


@pytest.fixture(scope="module")
def shared_patch_estate():
    yield from simulator(seed="patch", time_scale=0.002)


def _two_sites():
    """The DR pair: a dr-primary and a dr-secondary simulator (distinct ids, names and MAC pools)."""
    sites = [simulator(seed="dr-primary"), simulator(seed="dr-secondary")]
    try:
        running = [next(site, None) for site in sites]
        yield tuple(running)
    finally:
        for site in sites:
            site.close()


@pytest.fixture(scope="module")
def dr_sites():
    yield from _two_sites()


@pytest.fixture
def fresh_dr_sites():
    yield from _two_sites()
