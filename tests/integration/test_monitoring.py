# SPDX-License-Identifier: GPL-3.0-or-later
"""Monitoring: sre-ovirt-exporter in front of the simulator, scraped by a real Prometheus; the SLO gate reading
those metrics; a crashed VM seen by Prometheus, the alert rules (promtool) and the health check."""

import calendar
import email
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from tests.integration.harness import run_playbook
from tests.support import prometheus as prom
from tests.support.collection import REPO, collections_path

EXPORTER = os.path.join(REPO, "scripts", "sre-ovirt-exporter")
PYTHON = os.path.join(REPO, ".venv", "bin", "python")


def query(url, expr):
    with urllib.request.urlopen("%s/api/v1/query?%s" % (url, urllib.parse.urlencode({"query": expr})),
                                timeout=10) as r:
        return json.loads(r.read())["data"]["result"]


def wait_query(url, expr, what, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        found = query(url, expr)
        if found:
            return found
        assert time.monotonic() < deadline, "Prometheus never saw %s (%s)" % (what, expr)
        time.sleep(0.5)


def start_exporter(sim, workdir, cache_seconds=1, extra_env=None):
    port = prom.free_port()
    env = dict(os.environ, **sim.env())
    env.update({"SRE_OVIRT_EXPORTER_PORT": str(port), "SRE_OVIRT_EXPORTER_LISTEN": "127.0.0.1",
                "SRE_OVIRT_EXPORTER_CACHE_SECONDS": str(cache_seconds)})
    env.update(extra_env or {})
    log = os.path.join(str(workdir), "exporter.log")
    proc = subprocess.Popen([PYTHON, EXPORTER], env=env, stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    url = "http://127.0.0.1:%d" % port
    prom._wait_ready(proc, url + "/metrics", log)
    return prom.Process(proc, url, log)


def scrape(url):
    with urllib.request.urlopen(url + "/metrics", timeout=30) as r:
        return r.read().decode()


@pytest.fixture(scope="module")
def healthy_history(tmp_path_factory):
    work = str(tmp_path_factory.mktemp("mon-history"))
    data = os.path.join(work, "data")
    # Two healthy days (a backfill of seconds, not a minute) for SLOs over one day: see gate_slos().
    prom.backfill(data, prom.openmetrics(time.time(), days=2), work)
    return data


def gate_slos(path):
    """The built-in availability and Engine API latency SLOs, over one day instead of 30: both read only what
    the exporter exports (sre_ovirt_vm_up, sre_ovirt_engine_api_seconds)."""
    sys.path.insert(0, collections_path())
    from ansible_collections.sre.ovirt.plugins.module_utils.slo.defaults import DEFAULT_SLOS
    keep = []
    for doc in yaml.safe_load_all(DEFAULT_SLOS):
        if doc["metadata"]["name"] in ("sre-ovirt", "vm-availability", "engine-api-latency"):
            if doc["kind"] == "SLO":
                doc["spec"]["timeWindow"][0]["duration"] = "1d"
            keep.append(doc)
    with open(path, "w") as f:
        yaml.safe_dump_all(keep, f, sort_keys=False)
    return path


def test_prometheus_scrapes_the_exporter_gate_and_health_see_a_crash(fresh_sim, healthy_history, tmp_path):
    fresh_sim.admin("POST", "engine_backup", {"scopes": ["all"]})
    data = str(tmp_path / "data")
    shutil.copytree(healthy_history, data)
    with start_exporter(fresh_sim, tmp_path) as exporter:
        # The exporter alone (no simulator metric): Prometheus scrapes it every second.
        server = prom.start_prometheus(str(tmp_path), data, scrape_interval="1s", scrape=[
            ("sre-ovirt-exporter", exporter.url.split("//")[1], "http", "/metrics", None)])
        try:
            policy = {"source": "prometheus", "prometheus_url": server.url, "cache_ttl": 0,
                      "slo_file": gate_slos(str(tmp_path / "slos.yml"))}
            env = {"SRE_OVIRT_SLO_POLICY": json.dumps(policy)}
            play = os.path.join(REPO, "playbooks", "create_vm.yml")
            ok = run_playbook(fresh_sim, play, env=env, extra_vars={"vm_provision_vms": [
                {"name": "mon01", "template": "centos9-template", "cluster": "Default", "memory": "1GiB"}]})
            assert ok.rc == 0, ok.stdout[-3000:]
            gate = ok.results("SLO gate")[0]["slo_gate"]
            assert gate["passed"] and gate["source"] == "prometheus", gate
            assert sorted(s["slo"] for s in gate["slos"]) == ["engine-api-latency", "vm-availability"]
            assert all(s["verdict"] == "pass" for s in gate["slos"]), gate["slos"]

            up = wait_query(server.url, 'sre_ovirt_vm_up{vm="mon01",job="sre-ovirt-exporter"} == 1', "mon01 up")
            assert up[0]["metric"]["cluster"] == "Default"
            assert query(server.url, 'sum(ovirt_host_up{job="sre-ovirt-exporter"})')[0]["value"][1] == "3"
            assert query(server.url, 'ovirt_host_spm{host="host01"}')[0]["value"][1] == "1"
            assert query(server.url, "sre_ovirt_exporter_up")[0]["value"][1] == "1"
            assert query(server.url, 'ovirt_storage_domain_available_bytes{storage_domain="data-nfs"} > 0')
            assert query(server.url, "sre_ovirt_engine_api_seconds_count > 0")
            text = scrape(exporter.url)
            for name in ("ovirt_vm_status", "ovirt_vm_cpu_percent", "ovirt_vm_memory_used_bytes",
                         "ovirt_vm_network_receive_bytes_per_second", "ovirt_host_cpu_percent",
                         "ovirt_host_memory_used_bytes", "ovirt_storage_domain_committed_bytes",
                         "ovirt_storage_domain_latency_seconds", "ovirt_cluster_memory_overcommit_ratio",
                         "sre_ovirt_ha_vm_ready", "sre_ovirt_engine_backup_age_seconds",
                         'sre_ovirt_exporter_collector_up{collector="vms"} 1.0'):
                assert name in text, name

            # The VM crashes: Prometheus sees it down, and the health check says critical, naming it.
            fresh_sim.admin("POST", "faults", {"kind": "vm_crash", "target": "mon01"})
            wait_query(server.url, 'sre_ovirt_vm_up{vm="mon01"} == 0', "mon01 down")
            health = run_playbook(fresh_sim, os.path.join(REPO, "playbooks", "health_check.yml"),
                                  extra_vars={"health_check_dir": str(tmp_path / "health")})
            assert health.rc != 0
            result = health.results("Check the Engine")[0]
            assert result["verdict"] == "critical"
            assert "VM mon01 should run but is down" in [r["message"] for r in result["reasons"]]
            md = (tmp_path / "health" / "health.md").read_text()
            assert md.startswith("# oVirt health: CRITICAL") and "mon01" in md
            assert json.loads((tmp_path / "health" / "health.json").read_text())["verdict"] == "critical"
            assert health.mutating() == []
        finally:
            server.stop()


def test_health_check_ok_and_check_mode(fresh_sim, tmp_path):
    fresh_sim.admin("POST", "engine_backup", {"scopes": ["all"]})
    play = [{"name": "h", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Health", "sre.ovirt.health_check": {"markdown_file": str(tmp_path / "h.md")}}]}]
    check = run_playbook(fresh_sim, play, check=True)
    assert check.rc == 0, check.stdout[-2000:]
    res = check.results("Health")[0]
    assert res["verdict"] == "ok" and res["changed"] and not (tmp_path / "h.md").exists()
    assert res["engine_requests"] <= 10
    real = run_playbook(fresh_sim, play)
    assert real.rc == 0 and (tmp_path / "h.md").read_text().startswith("# oVirt health: OK")
    # A storage threshold below the domain's use, and an API budget no Engine meets: warnings, not failures.
    warn = run_playbook(fresh_sim, [{"name": "h", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Health", "sre.ovirt.health_check": {"thresholds": {"api_warning_seconds": 0.0}}}]}])
    res = warn.results("Health")[0]
    assert warn.rc == 0 and res["verdict"] == "warning"
    assert [r["check"] for r in res["reasons"]] == ["engine_api"]
    bad = run_playbook(fresh_sim, [{"name": "h", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Health", "sre.ovirt.health_check": {"fail_on": "sometimes"}}]}])
    assert bad.rc != 0 and "fail_on" in bad.results("Health")[0]["msg"]


def test_exporter_reports_engine_errors_as_metrics(tmp_path):
    sys.path.insert(0, collections_path())
    from ansible_collections.sre.ovirt.plugins.module_utils.monitoring.exporter import EngineExporter, load_config
    cfg = load_config(env={"SRE_OVIRT_EXPORTER_CACHE_SECONDS": "0"})
    cfg["auth"] = {"url": "https://127.0.0.1:%d/ovirt-engine/api" % prom.free_port(), "username": "admin@internal",
                   "password": "x", "insecure": True, "timeout": 2}
    exporter = EngineExporter(cfg)
    text = exporter.text()
    assert "sre_ovirt_exporter_up 0.0" in text
    assert 'sre_ovirt_exporter_collector_up{collector="engine"} 0.0' in text
    assert exporter.text()   # and again: still answering


# -- alert rules ------------------------------------------------------------------------------------------
CASES = [  # alert, input series, values, eval time, expected labels beyond the rule's own
    ("VMUnexpectedDown", [('sre_ovirt_vm_up{vm="db01",cluster="Default"}', "1 1 0x20")], "10m",
     {"vm": "db01", "cluster": "Default"}),
    ("HostCPUHigh", [('ovirt_host_cpu_percent{host="host01",cluster="Default"}', "95x30")], "20m",
     {"host": "host01", "cluster": "Default"}),
    ("HostRAMCritical", [('ovirt_host_memory_used_bytes{host="host02",cluster="Default"}', "98x20"),
                         ('ovirt_host_memory_total_bytes{host="host02",cluster="Default"}', "100x20")], "15m",
     {"host": "host02", "cluster": "Default"}),
    ("HostNonResponsive", [('ovirt_host_status{host="host03",cluster="Default",status="non_responsive"}', "1x10")],
     "8m", {"host": "host03", "cluster": "Default", "status": "non_responsive"}),
    ("NoSPM", [('ovirt_host_spm{host="host01",cluster="Default"}', "0x10")], "8m", {}),
    ("EngineAPISlow", [("sre_ovirt_engine_api_probe_seconds", "7x20")], "15m", {}),
    ("StorageDomainAlmostFull", [('ovirt_storage_domain_used_bytes{storage_domain="data",type="data"}', "88x30"),
                                 ('ovirt_storage_domain_available_bytes{storage_domain="data",type="data"}', "12x30")],
     "20m", {"storage_domain": "data", "type": "data"}),
    ("StorageDomainCritical", [('ovirt_storage_domain_used_bytes{storage_domain="data",type="data"}', "97x30"),
                               ('ovirt_storage_domain_available_bytes{storage_domain="data",type="data"}', "3x30")],
     "10m", {"storage_domain": "data", "type": "data"}),
    ("StorageDomainInactive", [('ovirt_storage_domain_up{storage_domain="iso",type="iso",status="inactive"}',
                                "0x10")], "8m", {"storage_domain": "iso", "type": "iso", "status": "inactive"}),
    ("StorageLatencyHigh", [('ovirt_storage_domain_latency_seconds{storage_domain="data",type="data"}', "0.2x30")],
     "20m", {"storage_domain": "data", "type": "data"}),
    ("HAVMNotReady", [('sre_ovirt_ha_vm_ready{vm="ha01",cluster="Default"}', "0x20")], "15m",
     {"vm": "ha01", "cluster": "Default"}),
    ("ClusterMemoryOvercommitted", [('ovirt_cluster_memory_overcommit_ratio{cluster="Default"}', "1.6x40"),
                                    ('ovirt_cluster_memory_overcommit_limit_ratio{cluster="Default"}', "1.5x40")],
     "35m", {"cluster": "Default"}),
    ("EngineBackupStale", [("sre_ovirt_engine_backup_age_seconds", "200000+60x90")], "70m", {}),
    ("SreOvirtExporterDown", [("sre_ovirt_exporter_up", "1 0x10")], "8m", {}),
    ("SreOvirtExporterAbsent", [("sre_ovirt_exporter_up", "1 1")], "25m", {}),
    ("SreOvirtExporterCollectorFailing", [('sre_ovirt_exporter_collector_up{collector="vms"}', "0x20")], "18m",
     {"collector": "vms"}),
]


def test_infrastructure_alerts_fire_in_promtool(sim, tmp_path):
    dest = str(tmp_path / "rules.yml")
    play = [{"name": "rules", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Rules", "sre.ovirt.slo_rules": {"dest": dest, "infrastructure_alerts": True}}]}]
    res = run_playbook(sim, play)
    assert res.rc == 0, res.stdout[-2000:]
    promtool = prom.binaries()["promtool"]
    out = subprocess.run([promtool, "check", "rules", dest], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    groups = yaml.safe_load(open(dest))["groups"]
    infra = [g for g in groups if g["name"] == "sre-ovirt-infrastructure"][0]["rules"]
    by_name = dict((r["alert"], r) for r in infra)
    assert sorted(by_name) == sorted(c[0] for c in CASES)
    for r in infra:
        assert r["labels"]["severity"] in ("page", "ticket") and r["for"]
        anchor = r["annotations"]["runbook_url"].split("#")[1]
        assert "{#%s}" % anchor in open(os.path.join(REPO, "docs", "monitoring.md")).read(), anchor
    tests = []
    for alert, series, at, labels in CASES:
        rule = by_name[alert]
        exp = dict(rule["labels"], **labels)
        annotations = dict((k, _expand(v, exp)) for k, v in rule["annotations"].items())
        tests.append({"interval": "1m", "input_series": [{"series": s, "values": v} for s, v in series],
                      "alert_rule_test": [{"eval_time": at, "alertname": alert, "exp_alerts": [
                          {"exp_labels": exp, "exp_annotations": annotations}]}]})
        # And quiet when healthy: the same series at harmless values (the exporter absent case needs none).
        if alert != "SreOvirtExporterAbsent":
            healthy = [{"series": s, "values": _healthy(alert, v)} for s, v in series]
            tests.append({"interval": "1m", "input_series": healthy,
                          "alert_rule_test": [{"eval_time": at, "alertname": alert, "exp_alerts": []}]})
    test_file = tmp_path / "test.yml"
    test_file.write_text(yaml.safe_dump({"rule_files": [dest], "evaluation_interval": "1m", "tests": tests}))
    out = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def _expand(text, labels):
    for k, v in labels.items():
        text = text.replace("{{ $labels.%s }}" % k, v)
    assert "{{" not in text, text
    return text


def _healthy(alert, values):
    good = {"VMUnexpectedDown": "1x20", "HostCPUHigh": "40x30", "HostNonResponsive": "0x10", "NoSPM": "1x10",
            "EngineAPISlow": "0.2x20", "StorageDomainInactive": "1x10", "StorageLatencyHigh": "0.002x30",
            "HAVMNotReady": "1x20", "EngineBackupStale": "3600+60x90", "SreOvirtExporterDown": "1x10",
            "SreOvirtExporterCollectorFailing": "1x20"}
    if alert in good:
        return good[alert]
    return {"98x20": "50x20", "100x20": "100x20", "88x30": "50x30", "12x30": "50x30", "97x30": "50x30",
            "3x30": "50x30", "1.6x40": "1.2x40", "1.5x40": "1.5x40"}[values]


# -- capacity report --------------------------------------------------------------------------------------
# Half a year of history written by the simulator's own load model (ovirt_engine_sim/load.py): cluster02's memory
# grows fastest, so it fills up first; the others grow slowly or not at all.
GROWTH = {"Default": {"cpu": 1.0, "memory": 1.0, "network": 0.5},
          "cluster01": {"cpu": 2.0, "memory": 0.5, "network": 1.0},
          "cluster02": {"cpu": 1.5, "memory": 6.0, "network": 0.5},
          "cluster03": {"cpu": 0.0, "memory": 0.0, "network": 0.0}}
BASE = {"cpu": 30.0, "memory": 40.0, "network": 20.0}
METRIC = {"cpu": "ovirt_cluster_cpu_percent", "memory": "ovirt_cluster_memory_percent",
          "network": "ovirt_cluster_network_percent"}
DAYS = 182


def capacity_history(now, step=3600, days=DAYS, weekly=4.0, noise=1.5):
    sys.path.insert(0, os.path.join(REPO, "tests", "simulator"))
    from ovirt_engine_sim.load import level
    cfg = {"epoch": now - days * 86400, "clusters": GROWTH, "weekly": weekly, "noise": noise}
    times = list(range(int(now - days * 86400) + 30, int(now) - 60, step))
    series = {}
    for cluster in GROWTH:
        for kind, metric in METRIC.items():
            series[(metric, "cluster", cluster)] = [(t, level(cfg, cluster, kind, BASE[kind], t)) for t in times]
        series[("ovirt_cluster_memory_overcommit_ratio", "cluster", cluster)] = [
            (t, level(cfg, cluster, "memory", 50.0, t) / 100.0) for t in times]
    cap = 2 ** 40
    sd_cfg = dict(cfg, clusters={"data-nfs": {"storage": 2.0}})
    series[("ovirt_storage_domain_used_bytes", "storage_domain", "data-nfs")] = [
        (t, cap * level(sd_cfg, "data-nfs", "storage", 30.0, t) / 100.0) for t in times]
    series[("ovirt_storage_domain_available_bytes", "storage_domain", "data-nfs")] = [
        (t, cap - v) for t, v in series[("ovirt_storage_domain_used_bytes", "storage_domain", "data-nfs")]]
    return series, cfg


def openmetrics(series):
    out = []
    by_metric = {}
    for (metric, label, subject), points in sorted(series.items()):
        by_metric.setdefault(metric, []).append((label, subject, points))
    for metric, rows in by_metric.items():
        out.append("# TYPE %s gauge" % metric)
        for label, subject, points in rows:
            out += ['%s{%s="%s"} %r %d' % (metric, label, subject, v, t) for t, v in points]
    return "\n".join(out + ["# EOF"]) + "\n"


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
        self.messages.append(envelope)
        return "250 OK"


def smtp_server(tmp_path):
    import ssl
    import trustme
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    ca_file = str(tmp_path / "smtp-ca.pem")
    ca.cert_pem.write_to_path(ca_file)

    def authenticator(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=auth_data.login == b"capacity" and auth_data.password == b"s3cret")

    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=prom.free_port(), tls_context=ctx,
                            require_starttls=True, authenticator=authenticator, auth_required=True)
    controller.start()
    return controller, inbox, ca_file


def write_samples(path, series):
    """The samples file the module keeps (one JSON line per sample), holding the seeded history."""
    times = sorted(set(p[0] for points in series.values() for p in points))
    by = dict((k, dict(v)) for k, v in series.items())
    used = by[("ovirt_storage_domain_used_bytes", "storage_domain", "data-nfs")]
    free = by[("ovirt_storage_domain_available_bytes", "storage_domain", "data-nfs")]
    with open(str(path), "w") as f:
        for t in times:
            rec = {"time": t, "clusters": {}, "storage_domains": {"data-nfs": 100.0 * used[t] / (used[t] + free[t])}}
            for cluster in GROWTH:
                rec["clusters"][cluster] = dict((kind, by[(metric, "cluster", cluster)][t])
                                                for kind, metric in METRIC.items())
            f.write(json.dumps(rec) + "\n")
    return len(times)


@pytest.fixture(scope="module")
def large_sim():
    from tests.integration.conftest import simulator
    yield from simulator(seed="large", time_scale=0.01)


def test_capacity_report_names_the_cluster_that_fills_first_and_mails_it(large_sim, tmp_path):
    """Half a year of samples (every 6 h), a weekly cycle and noise: the report, its plots and the mail."""
    now = time.time()
    series = capacity_history(now, step=6 * 3600)[0]
    samples = tmp_path / "samples.jsonl"
    count = write_samples(samples, series)
    controller, inbox, ca_file = smtp_server(tmp_path)
    try:
        out = str(tmp_path / "report")
        mail = {"host": "127.0.0.1", "port": controller.port, "starttls": True, "ca_file": ca_file,
                "username": "capacity", "password": "s3cret", "sender": "capacity@example.test",
                "to": ["sre@example.test"]}
        run = run_playbook(large_sim, os.path.join(REPO, "playbooks", "capacity_report.yml"), extra_vars={
            "capacity_report_samples_file": str(samples), "capacity_report_dir": out, "capacity_report_mail": mail})
        assert run.rc == 0, run.stdout[-3000:]
        res = run.results("Report")[0]
        assert res["first_to_fill"] == "cluster02"
        rows = dict(((r["subject"], r["resource"]), r) for r in res["report"]["rows"])
        mem = rows[("cluster02", "memory")]
        assert abs(mem["growth_per_month"] - 6.0) < 0.6, mem
        # The true date cluster02's memory reaches 90 %: today's level of the model plus the known growth.
        truth = now + (90.0 - (BASE["memory"] + 6.0 * DAYS / 30.0)) / 6.0 * 30 * 86400
        got = calendar.timegm(time.strptime(mem["critical_date"], "%Y-%m-%d")) + 43200
        assert abs(got - truth) <= 0.1 * (truth - now) + 86400, (mem, time.strftime("%Y-%m-%d", time.gmtime(truth)))
        assert rows[("cluster03", "cpu")]["critical_date"] is None
        assert rows[("cluster03", "cpu")]["note"].startswith("not within the horizon")
        assert rows[("data-nfs", "storage")]["growth_per_month"] > 1.5
        assert any(r.startswith("add ") and "cluster cluster02 before" in r and "like host" in r
                   for r in res["recommendations"]), res["recommendations"]
        assert set(res["report"]["n_plus_one"]) == set(GROWTH)
        for name in ("capacity.md", "capacity.html", "capacity.json", "cluster-cluster02.png", "storage.png"):
            assert os.path.getsize(os.path.join(out, name)) > 1000, name
        assert open(os.path.join(out, "cluster-cluster02.png"), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
        page = open(os.path.join(out, "capacity.html")).read()
        assert page.count('src="data:image/png;base64,') == 5 and "First to fill up: cluster02" in page
        if os.environ.get("SRE_OVIRT_DOC_IMAGES"):   # refresh the plot docs/capacity.md shows
            shutil.copy(os.path.join(out, "cluster-cluster02.png"),
                        os.path.join(REPO, "docs", "images", "capacity-cluster02.png"))
        # The mail: through STARTTLS with a login, the HTML page and every plot attached.
        assert len(inbox.messages) == 1
        msg = email.message_from_bytes(inbox.messages[0].original_content)
        assert msg["Subject"] == "oVirt capacity report" and inbox.messages[0].rcpt_tos == ["sre@example.test"]
        parts = [(p.get_content_type(), p.get_filename()) for p in msg.walk()]
        assert ("text/html", None) in parts
        assert sorted(f for t, f in parts if t == "image/png") == sorted(
            n for n in os.listdir(out) if n.endswith(".png"))
        assert run.mutating() == []
        assert len(samples.read_text().splitlines()) == count + 1   # this run's sample kept

        # Wrong password: the task fails naming the mail option, and the password is not shown.
        bad = run_playbook(large_sim, [{"name": "c", "hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "Report", "sre.ovirt.capacity_report": {
                "samples_file": str(samples), "mail": dict(mail, password="wrong-pw")}}]}], check=False)
        assert bad.rc != 0 and bad.results("Report")[0]["msg"].startswith("mail: could not send")
        assert "wrong-pw" not in bad.stdout
    finally:
        controller.stop()


def test_capacity_report_reads_prometheus(large_sim, tmp_path):
    """A week of the exporter's cluster metrics in a real Prometheus (range queries), in check mode."""
    now = time.time()
    series = capacity_history(now, days=7, weekly=0.0, noise=0.3)[0]
    data = str(tmp_path / "data")
    prom.backfill(data, openmetrics(series), str(tmp_path))
    server = prom.start_prometheus(str(tmp_path), data)
    try:
        report = {"prometheus_url": server.url, "history_days": 7, "output_dir": str(tmp_path / "out")}
        play = [{"name": "c", "hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "Report", "sre.ovirt.capacity_report": report}]}]
        check = run_playbook(large_sim, play, check=True)
        assert check.rc == 0, check.stdout[-3000:]
        res = check.results("Report")[0]
        assert res["first_to_fill"] == "cluster02"
        subjects = set((r["subject"], r["resource"]) for r in res["report"]["rows"])
        assert ("data-nfs", "storage") in subjects and ("cluster01", "network") in subjects
        assert not os.path.exists(str(tmp_path / "out"))
        missing = run_playbook(large_sim, [{"name": "c", "hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "Report", "sre.ovirt.capacity_report": {}}]}])
        assert missing.rc != 0 and missing.results("Report")[0]["msg"].startswith("samples_file: required")
    finally:
        server.stop()


def test_backup_age_per_vm_from_the_repository(tmp_path):
    """The newest good point per VM (docs/backup.md layout): bad points and partial directories do not count."""
    sys.path.insert(0, collections_path())
    from ansible_collections.sre.ovirt.plugins.module_utils.monitoring import metrics as M
    from ansible_collections.sre.ovirt.plugins.module_utils.monitoring.collect import newest_backups
    points = [("vm-a", "20261127T020012Z-1", "good", 1000.0), ("vm-a", "20261128T020009Z-2", "good", 2000.0),
              ("vm-a", "20261129T020009Z-3", "bad", 3000.0), ("vm-b", "20261127T020012Z-4", "good", 1500.0),
              ("vm-b", ".partial-20261129T020011Z-5", "good", 9000.0)]
    for vid, point, status, finished in points:
        d = tmp_path / "vms" / vid / "points" / point
        d.mkdir(parents=True)
        # The partial directory has a manifest too: it must still not count.
        (d / "manifest.json").write_text(json.dumps({"id": point, "status": status, "finished_epoch": finished,
                                                     "vm": {"id": vid, "name": vid.replace("vm-", "web")}}))
    assert newest_backups(str(tmp_path)) == {"weba": 2000.0, "webb": 1500.0}
    snap = {"time": 5000.0, "errors": {}, "clusters": [], "hosts": [], "vms": [], "storage_domains": [],
            "engine": {}, "backups": newest_backups(str(tmp_path))}
    text = M.text(M.families(snap))
    assert 'sre_ovirt_backup_age_seconds{vm="weba"} 3000.0' in text
    assert 'sre_ovirt_backup_age_seconds{vm="webb"} 3500.0' in text
