# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rolling patch plan as pure logic: batch size from capacity, order, what is left out."""

from ovirtsdk4 import types as T

from ansible_collections.sre.ovirt.plugins.modules.patch_plan import plan

GIB = 1 << 30
P = {"canary": True, "n_plus_one": True, "max_batch": 0, "cpu_overcommit": 4.0}


def host(name, mem_gib=64, cores=16, update=True, spm=False, hosted_engine=False, status="up"):
    return T.Host(name=name, memory=mem_gib * GIB, status=T.HostStatus(status), update_available=update,
                  cpu=T.Cpu(topology=T.CpuTopology(sockets=1, cores=cores, threads=1)),
                  spm=T.Spm(status=T.SpmStatus.SPM if spm else T.SpmStatus.NONE),
                  hosted_engine=T.HostedEngine(configured=hosted_engine))


def vms(n, mem_gib=2, cpus=2):
    return [T.Vm(name="vm%03d" % i, memory=mem_gib * GIB, status=T.VmStatus.UP,
                 cpu=T.Cpu(topology=T.CpuTopology(sockets=1, cores=cpus, threads=1))) for i in range(n)]


def cluster(overcommit=100):
    return T.Cluster(name="Default", memory_policy=T.MemoryPolicy(over_commit=T.MemoryOverCommit(percent=overcommit)))


def test_batch_size_is_what_the_remaining_hosts_hold_with_one_host_in_reserve():
    hosts = [host("host%02d" % i) for i in range(1, 13)]          # 12 x 64 GiB = 768 GiB
    out, capacity, up_to_date, error = plan(cluster(), hosts, vms(180), P)   # 360 GiB, 360 vCPUs
    # k out + 1 reserved must leave >= 360 GiB: (12 - k - 1) * 64 >= 360  ->  k <= 5
    assert error is None and out["batch_size"] == 5
    assert out["batches"][0] == ["host01"] and [len(b) for b in out["batches"]] == [1, 5, 5, 1]
    assert capacity["running_memory_gib"] == 360.0 and capacity["reserve_memory_gib"] == 64.0


def test_cpu_limits_the_batch_when_memory_would_allow_more():
    hosts = [host("host%02d" % i, cores=8) for i in range(1, 11)]   # 10 x 32 vCPUs with 4x over-commit
    out = plan(cluster(), hosts, vms(100, mem_gib=1, cpus=2), P)[0]  # 200 vCPUs, 100 GiB
    # (10 - k - 1) * 32 >= 200  ->  k <= 2 although memory would allow 7
    assert out["batch_size"] == 2


def test_memory_overcommit_of_the_cluster_counts():
    hosts = [host("host%02d" % i) for i in range(1, 7)]
    plain = plan(cluster(100), hosts, vms(100, cpus=1), P)[0]["batch_size"]
    overcommitted = plan(cluster(200), hosts, vms(100, cpus=1), P)[0]["batch_size"]
    assert (plain, overcommitted) == (1, 3)


def test_spm_and_hosted_engine_hosts_go_last_each_alone_and_up_to_date_hosts_are_left_out():
    hosts = [host("host01", spm=True), host("host02"), host("host03", hosted_engine=True), host("host04"),
             host("host05", update=False), host("host06")]
    out, up_to_date = plan(cluster(), hosts, vms(10), P)[0:3:2]
    assert out["batches"] == [["host02"], ["host04", "host06"], ["host01"], ["host03"]]
    assert up_to_date == ["host05"]


def test_max_batch_and_no_canary():
    hosts = [host("host%02d" % i) for i in range(1, 9)]
    out = plan(cluster(), hosts, vms(10), dict(P, canary=False, max_batch=3))[0]
    assert out["batches"] == [["host01", "host02", "host03"], ["host04", "host05", "host06"], ["host07", "host08"]]


def test_a_full_cluster_refuses_with_the_reason():
    hosts = [host("host01"), host("host02"), host("host03")]
    out, error = plan(cluster(), hosts, vms(50), P)[0::3]      # 100 GiB on 192: no room with N+1
    assert out is None and "no host can be taken out of cluster Default" in error and "HA VMs" in error
    assert plan(cluster(), hosts, vms(50), dict(P, n_plus_one=False))[0]["batch_size"] == 1


def test_hosts_already_down_give_no_capacity():
    hosts = [host("host%02d" % i) for i in range(1, 7)] + [host("host07", status="maintenance")]
    out = plan(cluster(), hosts, vms(100), P)[0]   # 200 GiB on 6 up hosts: (6 - k - 1) * 64 >= 200 -> k <= 1
    assert out["batch_size"] == 1
