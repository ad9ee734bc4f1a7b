# SPDX-License-Identifier: GPL-3.0-or-later
"""Statistics on the clock (ovirt_engine_sim/load.py): with the ``load`` tunable, host CPU and memory, host NIC
and vNIC rates and storage domain usage grow by the configured points per month; NIC statistics answer where the
Engine has them (GET and follow)."""

import time

from ovirt_engine_sim.load import MONTH, level


def _stats(stats):
    return dict((s.name, s.values[0].datum) for s in stats)


def test_host_and_nic_statistics_grow_with_the_clock(fresh_engine_sim):
    sim = fresh_engine_sim
    conn = sim.connection()
    try:
        system = conn.system_service()
        host = system.hosts_service().list(search="name=host01", follow="statistics,nics.statistics")[0]
        before = _stats(host.statistics)
        nic_before = _stats(host.nics[0].statistics)
        assert nic_before["data.current.rx"] >= 0 and "errors.total.tx" in nic_before
        sd = [d for d in system.storage_domains_service().list() if d.name == "data-nfs"][0]

        now = sim.admin("GET", "clock")["now"]
        sim.admin("POST", "tunables", {"load": {"epoch": now, "clusters": {"Default": {
            "cpu": 10.0, "memory": 5.0, "network": 4.0}}, "storage_domains": {"data-nfs": 3.0}}})
        sim.admin("POST", "clock", {"advance": 2 * MONTH})

        host = system.hosts_service().list(search="name=host01", follow="statistics,nics.statistics")[0]
        after = _stats(host.statistics)
        assert abs(after["cpu.current.user"] - before["cpu.current.user"] - 20.0) < 0.5
        assert abs((after["memory.used"] - before["memory.used"]) / after["memory.total"] * 100 - 10.0) < 0.5
        assert after["cpu.current.idle"] < before["cpu.current.idle"]
        nic_after = _stats(system.hosts_service().host_service(host.id).nics_service().nic_service(
            host.nics[0].id).statistics_service().list())
        speed = host.nics[0].speed
        assert abs((nic_after["data.current.rx"] - nic_before["data.current.rx"]) * 8 / speed * 100 - 8.0) < 0.1
        grown = [d for d in system.storage_domains_service().list() if d.name == "data-nfs"][0]
        total = sd.used + sd.available
        assert abs((grown.used - sd.used) / total * 100 - 6.0) < 0.1
        assert grown.available == total - grown.used
    finally:
        conn.close()


def test_level_is_the_same_function_for_the_past():
    cfg = {"epoch": 0, "clusters": {"*": {"cpu": 3.0}}, "weekly": 5.0, "noise": 1.0}
    assert level(cfg, "any", "cpu", 20.0, 10 * MONTH) == level(cfg, "any", "cpu", 20.0, 10 * MONTH)
    assert 20.0 + 30.0 - 6.0 <= level(cfg, "any", "cpu", 20.0, 10 * MONTH) <= 20.0 + 30.0 + 6.0
    assert level(None, "any", "cpu", 20.0, time.time()) == 20.0
    assert level(cfg, "any", "cpu", 95.0, 100 * MONTH) == 99.0
