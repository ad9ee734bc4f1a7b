# SPDX-License-Identifier: GPL-3.0-or-later
"""The SDK-style client scripts in tests/simulator/examples run unchanged against the simulator, in order,
and leave the state a reader of each script expects."""

import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


@pytest.fixture(scope="module")
def run(engine_sim, tmp_path_factory):
    log = str(tmp_path_factory.mktemp("examples") / "example.log")

    def go(script):
        env = dict(os.environ, EXAMPLE_LOG=log, **engine_sim.env())
        proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, script)], env=env, cwd=EXAMPLES,
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout
    return go


def test_examples_in_order(run, system):
    out = run("add_vm.py")
    assert "Added VM myvm" in out
    vm = system.vms_service().list(search="name=myvm")[0]
    assert vm.memory == 2 * 2**30

    out = run("start_vm.py")
    assert "VM myvm is up on host host0" in out
    assert system.vms_service().vm_service(vm.id).get().status.value == "up"

    run("add_vm_snapshot.py")
    snaps = system.vms_service().vm_service(vm.id).snapshots_service().list()
    assert "My snapshot" in [s.description for s in snaps]

    out = run("add_fence_agent.py")
    assert "host01 agent ipmilan at bmc-host01.example.test (order 1)" in out
    host = system.hosts_service().list(search="name=host01")[0]
    agents = system.hosts_service().host_service(host.id).fence_agents_service().list()
    assert [(a.type, a.address) for a in agents] == [("ipmilan", "bmc-host01.example.test")]

    out = run("search_vms.py")
    assert "myvm: up" in out and "up: myvm" in out

    out = run("poll_events.py")
    assert " 33 VM myvm powered off" in out
    assert system.vms_service().vm_service(vm.id).get().status.value == "down"

    from ovirtsdk4 import types
    for i in range(4):
        system.vms_service().add(types.Vm(name="page%d" % i, cluster=types.Cluster(name="Default"),
                                          template=types.Template(name="Blank")))
    out = run("page_vms.py")
    assert "page 3: " in out and "page 4: " not in out
    assert out.strip().splitlines()[-1] == "total: %d" % len(system.vms_service().list())
    assert "page 1: " in out
