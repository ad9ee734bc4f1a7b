"""Conformance tests: the real ovirtsdk4 against a running simulator (fixtures from ovirt_engine_sim's plugin)."""

import time

import pytest


def poll(fetch, predicate, timeout=30.0, interval=0.05):
    """Poll ``fetch()`` until ``predicate(value)``, the way SDK users wait for status; return the value."""
    deadline = time.monotonic() + timeout
    value = fetch()
    while not predicate(value):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within %ss; last value: %r" % (timeout, value))
        time.sleep(interval)
        value = fetch()
    return value


def wait_status(service, status, timeout=30.0):
    """Wait until ``service.get().status`` is ``status``; returns the object."""
    return poll(service.get, lambda o: o.status == status, timeout)


@pytest.fixture(scope="module")
def conn(engine_sim):
    c = engine_sim.connection()
    yield c
    c.close()


@pytest.fixture(scope="module")
def system(conn):
    return conn.system_service()
