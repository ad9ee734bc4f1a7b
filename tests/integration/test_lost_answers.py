# SPDX-License-Identifier: GPL-3.0-or-later
"""A lost answer is normal: after a dropped connection (the request *was* applied) or a 5xx on a create, the
modules look for their result before sending again. Exactly one object, and the task succeeds.

libcurl re-sends a request by itself on a reused connection that turns out closed; the client sends every
POST/PUT/DELETE on a fresh connection so only the client decides, after looking."""

import threading

import pytest

from tests.integration.harness import run_playbook

VM = {"name": "lost1", "template": "centos9-template", "cluster": "Default", "memory": "1GiB",
      "nics": [{"name": "nic2", "profile": "ovirtmgmt"}],
      "disks": [{"name": "lost1_data", "size": "1GiB", "storage_domain": "data-nfs"}]}


def play(*tasks):
    return [{"hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}]


def vm_task(**over):
    return {"name": "VM", "sre.ovirt.vm": dict(VM, **over), "register": "out"}


def posts(run, path_end):
    return [r for r in run.api_requests() if r["method"] == "POST" and r["path"].endswith(path_end)]


def read_vm(sim, name="lost1"):
    conn = sim.connection()
    try:
        vms = conn.system_service().vms_service().list(search="name=%s" % name, follow="nics,disk_attachments.disk")
        return vms
    finally:
        conn.close()


@pytest.mark.parametrize("path,sent_to", [(r"/vms$", "/vms"), (r"/nics$", "/nics"),
                                          (r"/diskattachments$", "/diskattachments")])
def test_a_dropped_answer_to_a_create_leaves_exactly_one_object(fresh_sim, path, sent_to):
    fresh_sim.inject({"kind": "drop_connection", "when": "after", "count": 1, "methods": ["POST"], "path": path})
    run = run_playbook(fresh_sim, play(vm_task()))
    assert run.rc == 0, run.stdout[-3000:]
    dropped = [r for r in run.api_requests() if r["fault"] == "drop_after"]
    assert len(dropped) == 1 and dropped[0]["path"].endswith(sent_to)
    assert len(posts(run, sent_to)) == 1, "the lost create was sent again: %s" % posts(run, sent_to)
    vms = read_vm(fresh_sim)
    assert len(vms) == 1
    assert sorted(n.name for n in vms[0].nics) == ["nic1", "nic2"]
    assert sorted(a.disk.alias for a in vms[0].disk_attachments) == ["centos9-template_Disk1", "lost1_data"] or \
        [a.disk.alias for a in vms[0].disk_attachments].count("lost1_data") == 1
    again = run_playbook(fresh_sim, play(vm_task()))
    assert again.rc == 0 and again.changed == 0 and again.mutating() == [], again.stats


def test_a_503_on_a_create_is_looked_for_not_blindly_resent(fresh_sim):
    fresh_sim.inject({"kind": "http_status", "status": 503, "count": 2, "methods": ["POST"], "path": r"/vms$"})
    run = run_playbook(fresh_sim, play(vm_task(nics=[], disks=[])))
    assert run.rc == 0, run.stdout[-3000:]
    creates = posts(run, "/vms")
    assert [r["status"] for r in creates] == [503, 503, 201]
    # before each re-send, a search for the VM by name
    api = run.api_requests()
    for r in creates[1:]:
        before = [x for x in api if x["seq"] < r["seq"]]
        assert before[-1]["method"] == "GET" and before[-1]["path"] == "/ovirt-engine/api/vms", before[-1]
    assert len(read_vm(fresh_sim)) == 1


def test_a_persistent_503_names_the_status_the_url_and_the_retries(fresh_sim):
    fresh_sim.inject({"kind": "http_status", "status": 503, "share": 1.0, "path": r"/vms"})
    run = run_playbook(fresh_sim, play({"name": "VM", "sre.ovirt.vm": {"name": "x", "cluster": "Default"},
                                        "register": "out", "ignore_errors": True}))
    fresh_sim.clear_faults()
    msg = run.results("VM")[0]["msg"]
    assert "HTTP 503" in msg and "/ovirt-engine/api/vms" in msg and "attempt(s)" in msg, msg
    assert "content type" not in msg


def test_a_dropped_answer_to_a_fence_agent_create(fresh_sim):
    fresh_sim.inject({"kind": "drop_connection", "when": "after", "count": 1, "methods": ["POST"],
                      "path": r"/fenceagents$"})
    task = {"name": "PM", "sre.ovirt.host_power_management": {
        "host": "host02", "verify": False, "agents": [
            {"type": "ipmilan", "address": "bmc-host02.example.test", "username": "admin", "password": "calvin"},
            {"type": "ipmilan", "address": "bmc2-host02.example.test", "username": "admin", "password": "calvin",
             "order": 2}]}}
    run = run_playbook(fresh_sim, play(task))
    assert run.rc == 0, run.stdout[-3000:]
    conn = fresh_sim.connection()
    hosts = conn.system_service().hosts_service()
    host = hosts.list(search="name=host02")[0]
    agents = hosts.host_service(host.id).fence_agents_service().list()
    conn.close()
    assert sorted(a.address for a in agents) == ["bmc-host02.example.test", "bmc2-host02.example.test"]


def test_two_concurrent_creates_of_one_vm_both_succeed_with_one_vm(fresh_sim):
    runs = []

    def go():
        runs.append(run_playbook(fresh_sim, play(vm_task(name="twin", nics=[], disks=[], state="running", timeout=120))))
    threads = [threading.Thread(target=go) for dummy in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.rc for r in runs] == [0, 0], [r.stdout[-2000:] for r in runs]
    vms = read_vm(fresh_sim, "twin")
    assert len(vms) == 1
    assert sum(len(posts(r, "/vms")) for r in runs) >= 1
    assert all(r.results("VM")[0]["vm"]["id"] == vms[0].id for r in runs)
