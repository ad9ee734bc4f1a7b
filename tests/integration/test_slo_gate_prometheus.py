# SPDX-License-Identifier: GPL-3.0-or-later
"""The SLO gate with a real Prometheus as the source: 30 days of backfilled history (promtool), the simulator
scraped as the Engine's exporter, and the collection's own measurements pushed to a real Pushgateway."""

import json
import os
import shutil
import time
import urllib.parse
import urllib.request

import pytest

from tests.integration.harness import run_playbook
from tests.support import prometheus as prom
from tests.support.collection import REPO

PLAYBOOK = os.path.join(REPO, "playbooks", "create_vm.yml")


@pytest.fixture(scope="module")
def healthy_history(tmp_path_factory):
    """A Prometheus data dir holding 30 days of healthy SLIs, backfilled once for the module."""
    work = str(tmp_path_factory.mktemp("prom-history"))
    data = os.path.join(work, "data")
    now = time.time()
    prom.backfill(data, prom.openmetrics(now), work)
    return data, now


def query(url, expr):
    with urllib.request.urlopen("%s/api/v1/query?%s" % (url, urllib.parse.urlencode({"query": expr})),
                                timeout=10) as r:
        return json.loads(r.read())["data"]["result"]


def one_vm(name):
    return {"vm_provision_vms": [{"name": name, "template": "centos9-template", "cluster": "Default",
                                  "memory": "1GiB"}]}


def test_prometheus_source_passes_then_refuses_after_downtime(fresh_sim, healthy_history, tmp_path):
    data = str(tmp_path / "data")
    shutil.copytree(healthy_history[0], data)
    host_port = fresh_sim.admin_url.split("//")[1].split("/")[0]
    scrape = [("ovirt-engine-sim", host_port, "https", "/sim/metrics", fresh_sim.ca_file)]
    with prom.start_pushgateway(str(tmp_path)) as pgw:
        server = prom.start_prometheus(str(tmp_path), data, scrape=scrape + [
            ("pushgateway", pgw.url.split("//")[1], "http", "/metrics", None)], scrape_interval="1s")
        try:
            policy = {"source": "prometheus", "prometheus_url": server.url, "pushgateway_url": pgw.url,
                      "cache_ttl": 0}
            env = {"SRE_OVIRT_SLO_POLICY": json.dumps(policy)}
            ok = run_playbook(fresh_sim, PLAYBOOK, extra_vars=one_vm("prom01"), env=env)
            assert ok.rc == 0, ok.stdout[-3000:]
            gate = ok.results("SLO gate")[0]["slo_gate"]
            assert gate["passed"] and gate["source"] == "prometheus"
            assert all(s["verdict"] == "pass" for s in gate["slos"] if not s["optional"]), gate["slos"]
            assert [s["verdict"] for s in gate["slos"] if s["optional"]] == ["no_data"]   # backup-freshness: unfed

            # The module pushed its boot time and API latencies; Prometheus scraped the simulator.
            with urllib.request.urlopen(pgw.url + "/metrics", timeout=10) as r:
                pushed = r.read().decode()
            assert 'sre_ovirt_vm_boot_seconds_count{instance="",job="sre_ovirt"} 1\n' in pushed
            assert "sre_ovirt_engine_api_seconds_count" in pushed
            deadline = time.monotonic() + 30
            while not query(server.url, 'sre_ovirt_vm_up{vm="prom01"} == 1'):
                assert time.monotonic() < deadline, "Prometheus never scraped prom01 from the simulator"
                time.sleep(0.5)
        finally:
            server.stop()

        # A day of downtime for one more VM, backfilled into the same TSDB: 1440 bad minutes out of ~44,600.
        prom.backfill(data, prom.openmetrics(time.time(), days=1, downtime=[(0, time.time() + 3600)],
                                             vm="crashed", histograms=False), str(tmp_path))
        server = prom.start_prometheus(str(tmp_path), data)
        try:
            policy["prometheus_url"] = server.url
            env = {"SRE_OVIRT_SLO_POLICY": json.dumps(policy)}
            check = run_playbook(fresh_sim, PLAYBOOK, extra_vars=one_vm("prom02"), env=env, check=True)
            assert check.rc != 0
            msg = check.results("SLO gate")[0]["msg"]
            assert "vm-availability" in msg and "budget spent" in msg
            assert check.mutating() == []
            real = run_playbook(fresh_sim, PLAYBOOK, extra_vars=one_vm("prom02"), env=env)
            assert real.rc != 0 and real.mutating() == []
            assert "prom02" not in [v["name"] for v in fresh_sim.state()["vms"]]
        finally:
            server.stop()


def test_pushes_accumulate_in_the_pushgateway(tmp_path):
    import sys
    from tests.support.collection import collections_path
    sys.path.insert(0, collections_path())
    from ansible_collections.sre.ovirt.plugins.module_utils.sli import record as _sli_record
    with prom.start_pushgateway(str(tmp_path)) as pgw:
        _sli_record.push(pgw.url, [("vm_boot_seconds", 30.0, None, 1.0, "a", None),
                                   ("vm_boot_seconds", 90.0, None, 1.0, "b", None)])
        _sli_record.push(pgw.url, [("vm_boot_seconds", 45.0, None, 1.0, "c", None)])
        with urllib.request.urlopen(pgw.url + "/metrics", timeout=10) as r:
            text = r.read().decode()
    assert 'sre_ovirt_vm_boot_seconds_bucket{instance="",job="sre_ovirt",le="60"} 2\n' in text
    assert 'sre_ovirt_vm_boot_seconds_bucket{instance="",job="sre_ovirt",le="+Inf"} 3\n' in text
    assert 'sre_ovirt_vm_boot_seconds_sum{instance="",job="sre_ovirt"} 165\n' in text
