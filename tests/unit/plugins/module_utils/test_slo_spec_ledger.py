# SPDX-License-Identifier: GPL-3.0-or-later
"""OpenSLO validation (errors name the document and field) and the SQLite ledger."""

import pytest

from ansible_collections.sre.ovirt.plugins.module_utils.slo.defaults import DEFAULT_SLOS
from ansible_collections.sre.ovirt.plugins.module_utils.slo.spec import SloSpecError, load_text
from ansible_collections.sre.ovirt.plugins.module_utils.sli.ledger import Ledger, snap
from ansible_collections.sre.ovirt.plugins.module_utils.slo import policy as slo_policy

SLO = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: boots}
spec:
  indicator:
    metadata: {name: boots}
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {spec: {ledger: {measurement: vm_boot_seconds, le: 60}}}}
        total: {metricSource: {spec: {ledger: {measurement: vm_boot_seconds}}}}
  timeWindow: [{duration: 7d, isRolling: true}]
  budgetingMethod: %(method)s
  objectives: [{target: %(target)s%(extra)s}]
"""


def slo(method="Occurrences", target="0.99", extra=""):
    return SLO % {"method": method, "target": target, "extra": extra}


def test_default_slos_load():
    slos = load_text(DEFAULT_SLOS)
    assert [s.name for s in slos] == ["vm-availability", "vm-boot-time", "vm-migration-time", "storage-latency",
                                      "engine-api-latency", "backup-freshness"]
    assert [s.name for s in slos if s.optional] == ["backup-freshness"]
    fresh = slos[-1]
    assert fresh.stale_after == 50 * 3600 and fresh.query("ledger", "good") == {"measurement": "backup_fresh", "ge": 1}
    avail = slos[0]
    assert avail.target == 0.999 and avail.window == 30 * 86400 and avail.stale_after == 1800
    assert avail.query("ledger", "good") == {"measurement": "vm_up", "ge": 1}
    assert "$window" in slos[1].query("prometheus", "total")


@pytest.mark.parametrize("text,where,needle", [
    (slo(target="1.5"), "document 1 (SLO boots): spec.objectives[0].target", "between 0 and 1"),
    (slo(method="Average"), "spec.budgetingMethod", "Occurrences, Timeslices, RatioTimeslices"),
    (slo(method="Timeslices"), "spec.objectives[0].timeSliceWindow", "is required for Timeslices"),
    (slo().replace("7d", "7 days"), "spec.timeWindow[0].duration", "a duration like"),
    (slo().replace("openslo/v1", "openslo/v2"), "apiVersion", "must be openslo/v1"),
    (slo().replace("kind: SLO", "kind: Budget"), "kind", "must be one of SLO, SLI, DataSource, AlertPolicy"),
    (slo().replace("le: 60", "le: sixty"), "good.metricSource.spec.ledger.le", "must be a number"),
    (slo().replace("indicator:", "indicatorRef: nothing\n  ignored:"), "spec.indicatorRef", "no SLI named"),
])
def test_invalid_documents_name_document_and_field(text, where, needle):
    with pytest.raises(SloSpecError) as err:
        load_text(text, "team-slos.yml")
    msg = str(err.value)
    assert msg.startswith("team-slos.yml: document 1")
    assert where in msg and needle in msg


def test_timeslices_objective():
    s = load_text(slo(method="Timeslices", extra=", timeSliceTarget: 0.95, timeSliceWindow: 1m"))[0]
    assert s.method == "Timeslices" and s.slice_window == 60 and s.slice_target == 0.95


def test_ledger_buckets_dedupe_and_compaction(tmp_path):
    now = 12 * 86400.0  # the gate's buckets are aligned to their step; compaction folds to whole minutes
    ledger = Ledger(str(tmp_path / "l.sqlite"), clock=lambda: now)
    assert ledger.record("vm_migration_seconds", 12, t=now - 100, source_id="event:7")
    assert not ledger.record("vm_migration_seconds", 12, t=now - 100, source_id="event:7")
    rows = [("vm_boot_seconds", v, now - 3000 + i, 1.0, None, None) for i, v in enumerate([10, 59, 60, 61, 200])]
    assert ledger.record_many(rows) == 5
    buckets, first, last = ledger.buckets({"measurement": "vm_boot_seconds", "le": 60},
                                          {"measurement": "vm_boot_seconds"}, now - 3600, now, 300.0)
    assert [b.start for b in buckets] == [now - 3000]  # only the bucket with data
    assert first == now - 3000 and last == now - 2996
    assert sum(b.good for b in buckets) == 3 and sum(b.total for b in buckets) == 5
    # Compaction keeps "value <= le" exact for the standard bounds.
    old = [("engine_api_seconds", 0.003 + (i % 7) * 0.4, now - 5 * 86400 + i, 1.0, None, None) for i in range(2000)]
    ledger.record_many(old)
    q = ({"measurement": "engine_api_seconds", "le": 2}, {"measurement": "engine_api_seconds"})
    before = ledger.buckets(q[0], q[1], now - 6 * 86400, now, 86400.0)[0]
    n_before, n_after = ledger.compact(older_than=86400)
    after = ledger.buckets(q[0], q[1], now - 6 * 86400, now, 86400.0)[0]
    assert n_after < n_before / 10
    assert [(b.good, b.total) for b in before] == [(b.good, b.total) for b in after]
    assert snap(0.003) == 0.005 and snap(61) == 90 and snap(0) == 0
    ledger.close()


def test_policy_validation_names_the_field():
    with pytest.raises(slo_policy.GateError) as err:
        slo_policy.normalize({"source": "graphite"})
    assert "slo_policy.source" in str(err.value) and "ledger, prometheus, engine" in str(err.value)
    with pytest.raises(slo_policy.GateError, match="prometheus_url is required"):
        slo_policy.normalize({"source": "prometheus"})
    with pytest.raises(slo_policy.GateError, match="both reason and ticket"):
        slo_policy.normalize({"break_glass": {"reason": "urgent"}})
    with pytest.raises(slo_policy.GateError, match="unknown option"):
        slo_policy.normalize({"ledger": "/tmp/x"})


def test_engine_events_replayed_into_sli_rows():
    from ansible_collections.sre.ovirt.plugins.module_utils.sli.replay import rows_from_events
    now, day = 40 * 86400.0, 86400.0
    ev = [
        {"id": "1", "code": 153, "time": now - 31 * day, "vm_id": "a", "description": ""},
        {"id": "2", "code": 32, "time": now - 31 * day + 25, "vm_id": "a", "description": ""},
        {"id": "3", "code": 119, "time": now - day, "vm_id": "a", "description": ""},
        {"id": "4", "code": 506, "time": now - day + 1800, "vm_id": "a", "description": ""},
        {"id": "5", "code": 63, "time": now - 100, "vm_id": "a", "description": "Migration completed (Duration: 12 seconds)."},
        {"id": "6", "code": 153, "time": now - 2 * day, "vm_id": "b", "description": ""},
        {"id": "7", "code": 32, "time": now - 2 * day + 40, "vm_id": "b", "description": ""},
        {"id": "8", "code": 33, "time": now - day, "vm_id": "b", "description": ""},
    ]
    rows = rows_from_events(ev, vms_up_now=["a", "c"], now=now, window=30 * day)
    up = [r for r in rows if r[0] == "vm_up"]
    down_a = sum(r[3] for r in up if r[4] == "a" and r[1] == 0)
    assert down_a == 1800                                     # crashed until the HA restart
    assert sum(r[3] for r in up if r[4] == "a") == 30 * day   # clipped to the window
    assert sum(r[3] for r in up if r[4] == "b") == day - 40   # up after its boot until the user's stop
    assert sum(r[3] for r in up if r[4] == "c") == 30 * day   # up now, no events: up all window
    assert [(r[1], r[4]) for r in rows if r[0] == "vm_boot_seconds"] == [(25.0, "a"), (40.0, "b")]
    assert [r[1] for r in rows if r[0] == "vm_migration_seconds"] == [12.0]


def test_calendar_window_evaluates_the_period_so_far():
    import calendar
    from ansible_collections.sre.ovirt.plugins.module_utils.slo.spec import period_start
    text = slo().replace("[{duration: 7d, isRolling: true}]",
                         "[{duration: 1M, calendar: {startTime: '2026-01-01 00:00:00', timeZone: UTC}}]")
    s = load_text(text)[0]
    now = calendar.timegm((2026, 11, 23, 6, 0, 0))
    assert period_start(s, now) == calendar.timegm((2026, 11, 1, 0, 0, 0))
    q = load_text(text.replace("duration: 1M", "duration: 1Q"))[0]
    assert period_start(q, now) == calendar.timegm((2026, 10, 1, 0, 0, 0))
    bad = text.replace("timeZone: UTC", "timeZone: Mars/Olympus")
    with pytest.raises(SloSpecError, match="calendar: timeZone 'Mars/Olympus'"):
        load_text(bad)


def test_shipped_default_file_matches_the_built_in_slos():
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "..", "..", "slo", "default.openslo")
    shipped = [s.to_dict() for s in load_text(open(path).read())]
    assert shipped == [s.to_dict() for s in load_text(DEFAULT_SLOS)]
    assert open(path).read().endswith(DEFAULT_SLOS)


def test_the_two_engine_readers_agree_a_removed_vm_stops_counting():
    """sli_collect (ledger) and the Engine replay took 113 (VM removed) differently; both read model.events now."""
    from ansible_collections.sre.ovirt.plugins.module_utils.sli.replay import rows_from_events
    from ansible_collections.sre.ovirt.plugins.module_utils.model import events
    evs = [{"id": "1", "code": events.USER_RUN_VM, "time": 1000.0, "vm_id": "vm-a", "description": ""},
           {"id": "2", "code": events.USER_REMOVE_VM_FINISHED, "time": 1600.0, "vm_id": "vm-a", "description": ""}]
    rows = rows_from_events(evs, [], now=4000.0, window=4000.0)
    up = sum(r[3] for r in rows if r[0] == "vm_up")
    assert up == 600.0                      # up from 1000 to its removal at 1600, nothing after
    assert events.USER_REMOVE_VM_FINISHED in events.VM_STOPPED_ON_PURPOSE


def test_the_gate_cache_is_per_engine(tmp_path, monkeypatch):
    from ansible_collections.sre.ovirt.plugins.module_utils.slo import gate as slo_gate
    policy = {"source": "engine", "cache_ttl": 60}
    a = slo_gate.cache_path(policy, ["https://site-a/ovirt-engine/api", "admin@internal"])
    b = slo_gate.cache_path(policy, ["https://site-b/ovirt-engine/api", "admin@internal"])
    assert a != b
    calls = []

    class Client:
        def __init__(self, url):
            self.settings = type("S", (), {"url": url, "username": "admin@internal"})()

    monkeypatch.setattr(slo_gate, "evaluate_all", lambda p, now=None, client=None: calls.append(
        client.settings.url) or {"evaluated_at": now, "engine": client.settings.url})
    monkeypatch.setattr(slo_gate.tempfile, "gettempdir", lambda: str(tmp_path))
    first = slo_gate.cached_report(policy, now=1000.0, client=Client("https://site-a/ovirt-engine/api"))
    other = slo_gate.cached_report(policy, now=1001.0, client=Client("https://site-b/ovirt-engine/api"))
    again = slo_gate.cached_report(policy, now=1002.0, client=Client("https://site-a/ovirt-engine/api"))
    assert (first["engine"], other["engine"], again["engine"]) == (
        "https://site-a/ovirt-engine/api", "https://site-b/ovirt-engine/api", "https://site-a/ovirt-engine/api")
    assert calls == ["https://site-a/ovirt-engine/api", "https://site-b/ovirt-engine/api"] and again["cached"]
