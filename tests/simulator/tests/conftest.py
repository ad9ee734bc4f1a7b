# SPDX-License-Identifier: GPL-3.0-or-later
"""Conformance tests: the real ovirtsdk4 against a running simulator.

``engine_sim`` (one simulator per module) comes from the ovirt_engine_sim pytest plugin; the polling helpers
are ``ovirt_engine_sim.testing.poll`` and ``wait_status``."""

import pytest


@pytest.fixture(scope="module")
def conn(engine_sim):
    c = engine_sim.connection()
    yield c
    c.close()


@pytest.fixture(scope="module")
def system(conn):
    return conn.system_service()
