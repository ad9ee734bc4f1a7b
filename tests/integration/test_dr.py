# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``sre.ovirt.dr`` role through its playbooks against two simulators (seeds ``dr-primary`` and
``dr-secondary``, the primary's ``dr-data`` replicated into the secondary's exports by the simulator's storage
replication) and a real BIND for the DNS records: what runs where afterwards, the disks' guest-visible checksums,
the requests each Engine received, the report."""

import json
import os
import shlex
import shutil
import tempfile
import time

import pytest
import yaml

from ovirt_engine_sim.testing import start_simulator
from tests.integration.harness import run_playbook
from tests.support.bind import BindServer, bind_skip_reason
from tests.support.collection import REPO

PLAYBOOKS = os.path.join(REPO, "playbooks")
DOMAIN = "dr-data"
RUNNING = ["web01", "web02", "db01", "app01"]          # up on the primary in the seed, HA priority 100/100/80/50
IN_OVF = RUNNING + ["tools01"]                         # dr-data's VMs in the seed's OVF store (tools01 is down)
TIME_SCALE = 0.01                                      # a 20 s boot takes 0.2 s


# -- two sites ---------------------------------------------------------------------------------------------------
class Sites:
    """A primary and a secondary simulator, ``dr-data`` replicated from one to the other, a mapping file."""

    def __init__(self, mode="sync", interval=300.0):
        self.base = tempfile.mkdtemp(prefix="sre-ovirt-dr-")
        self.primary = start_simulator(os.path.join(self.base, "east"), seed="dr-primary", time_scale=TIME_SCALE)
        self.secondary = start_simulator(os.path.join(self.base, "west"), seed="dr-secondary",
                                         time_scale=TIME_SCALE)
        self.primary.admin("POST", "replication", {"domain": DOMAIN, "to_state_dir": self.secondary.state_dir,
                                                   "mode": mode, "interval": interval})
        self.dir = os.path.join(self.base, "dr")
        os.makedirs(self.dir)
        self.mapping = os.path.join(self.dir, "mapping.yml")
        self.generate()

    def generate(self):
        export_p = os.path.join(self.primary.state_dir, "exports", DOMAIN)
        export_s = os.path.join(self.secondary.state_dir, "exports", DOMAIN)
        run = run_playbook(self.secondary, [{"hosts": "localhost", "gather_facts": False, "tasks": [{
            "name": "Mapping", "sre.ovirt.dr_plan": {
                "state": "generated", "storage_domains": [DOMAIN], "mapping_file": self.mapping,
                "primary": self.primary.auth(), "secondary": self.secondary.auth(),
                "name_map": {"east": "west", "networks": {"app": "app-west"}, "vnic_profiles": {"app": "app-west"},
                             "storage_domains": {export_p: export_s,
                                                 "nfs-east.example.test": "nfs-west.example.test"}}}}]}])
        assert run.rc == 0, failed(run)

    def status_cmd(self):
        """The storage's replication status (the primary's simulator keeps it, both ways)."""
        sim = self.primary
        return "curl -sfk --netrc-file %s %s" % (shlex.quote(self.netrc()), shlex.quote(sim.admin_url + "/replication"))

    def snapshot_cmd(self):
        sim = self.primary
        return ("curl -sfk --netrc-file %s -X POST -H 'Content-Type: application/json' "
                "-d \"{\\\"to_path\\\": \\\"$DR_SNAPSHOT_PATH\\\"}\" %s/replication/$DR_DOMAIN/snapshot" % (
                    shlex.quote(self.netrc()), shlex.quote(sim.admin_url)))

    def netrc(self):
        """The storage tooling's credentials in a file, not on the command line (a command shows in results)."""
        path = os.path.join(self.base, "netrc")
        if not os.path.exists(path):
            host = self.primary.admin_url.split("/")[2].split(":")[0]
            with open(path, "w") as f:
                f.write("machine %s login %s password %s\n" % (host, self.primary.username, self.primary.password))
            os.chmod(path, 0o600)
        return path

    def variables(self, **extra):
        out = {"dr_primary_auth": self.primary.auth(), "dr_secondary_auth": self.secondary.auth(),
               "dr_mapping_file": self.mapping, "dr_replication_status_cmd": self.status_cmd(),
               "dr_poll_interval": 0.3, "dr_replication_poll_interval": 0.3}
        out.update(extra)
        return out

    def run(self, playbook, primary_alive=True, **extra):
        """Run a playbook (against both sites); the run also carries the primary's Engine requests made meanwhile
        (``primary_requests``, ``primary_mutating``); ``run.mutating()`` are the secondary's."""
        since = self.primary.requests()[-1]["seq"] if primary_alive else None
        run = run_playbook(self.secondary, os.path.join(PLAYBOOKS, playbook), extra_vars=self.variables(**extra))
        run.primary_since = since
        run.primary_requests = self.primary.api_requests(since) if primary_alive else []
        run.primary_mutating = [r for r in run.primary_requests if r["method"] in ("POST", "PUT", "DELETE")]
        return run

    def report(self, action):
        with open(os.path.join(self.dir, "dr-report-%s.json" % action)) as f:
            return json.load(f)

    def close(self):
        self.primary.stop()
        self.secondary.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def vms(sim, search=None):
    return {v.name: v for v in sim.connection().system_service().vms_service().list(search=search)}


def status(sim):
    return {name: vm.status.value for name, vm in vms(sim).items()}


def guest_ips(sim, name):
    svc = sim.connection().system_service().vms_service()
    vm = svc.list(search="name=%s" % name)[0]
    return sorted(ip.address for dev in svc.vm_service(vm.id).reported_devices_service().list()
                  for ip in dev.ips or [] if ip.version.value == "v4")


def attached_domains(sim):
    system = sim.connection().system_service()
    out = set()
    for dc in system.data_centers_service().list():
        out |= {sd.name for sd in system.data_centers_service().data_center_service(dc.id)
                .storage_domains_service().list()}
    return out


def domain_names(sim):
    return {sd.name for sd in sim.connection().system_service().storage_domains_service().list()}


def checksums(sim, names):
    out = {}
    for name in names:
        system = sim.connection().system_service()
        vm = system.vms_service().list(search="name=%s" % name)[0]
        for att in system.vms_service().vm_service(vm.id).disk_attachments_service().list():
            disk = system.disks_service().disk_service(att.disk.id).get()
            out[(name, disk.id)] = sim.admin("GET", "/vms/%s/disks/%s/checksum" % (name, disk.alias))["sha256"]
    return out


def failure_text(run):
    return run.stdout + run.stderr


def failed(run):
    """The failed tasks' names and messages (for assertion messages)."""
    out = []
    for play in (run.data or {}).get("plays", []):
        for task in play["tasks"]:
            res = task["hosts"].get("localhost", {})
            for r in res.get("results", [res]):
                if r.get("failed") and not r.get("failed_when_result") is False and not res.get("ignore_errors"):
                    out.append("%s: %s" % (task["task"]["name"], r.get("msg")))
    return "\n".join(out) or (run.stdout + run.stderr)[-3000:]


# -- refusals and drills: one pair of sites, never failed over ----------------------------------------------------
@pytest.fixture(scope="module")
def sites():
    pair = Sites(mode="async", interval=3600.0)
    yield pair
    pair.close()


def test_unplanned_failover_is_refused_while_the_primary_answers(sites):
    since = sites.secondary.requests()[-1]["seq"]
    run = sites.run("dr_failover.yml", dr_mode="unplanned")
    assert run.rc != 0
    assert "refusing an unplanned failover: the primary site is alive" in failure_text(run)
    assert sites.primary.auth()["url"] in failure_text(run)
    assert run.primary_mutating == [] and run.mutating() == []
    assert sites.secondary.mutating_requests(since) == []


def test_unplanned_failover_is_refused_when_the_replica_is_older_than_max_rpo(sites):
    # dr_force passes the liveness check (the operator knows the primary is fenced); the replica's age still
    # decides. The replica was copied once when replication began and the copy interval is an hour.
    time.sleep(0.5)
    run = sites.run("dr_failover.yml", dr_mode="unplanned", dr_max_rpo=10,
                    dr_force={"reason": "primary fenced by hand", "ticket": "INC-1"})
    assert run.rc != 0
    text = failure_text(run)
    assert "refusing an unplanned failover: the replica of dr-data is" in text
    assert "more than dr_max_rpo=10 s allows" in text
    assert run.primary_mutating == [] and run.mutating() == []


def test_failover_is_refused_when_a_network_is_not_mapped(sites):
    with open(sites.mapping) as f:
        mapping = yaml.safe_load(f)
    mapping["vnic_profiles"] = [p for p in mapping["vnic_profiles"] if p["primary_network"] != "app"]
    other = os.path.join(sites.dir, "unmapped")
    os.makedirs(other, exist_ok=True)
    path = os.path.join(other, "mapping.yml")
    with open(path, "w") as f:
        yaml.safe_dump(mapping, f)
    # With an SLO policy (an empty ledger: no data), the gate lets a failover through as a remediation.
    run = sites.run("dr_failover.yml", dr_mode="planned", dr_mapping_file=path,
                    sre_ovirt_slo_policy={"ledger_path": os.path.join(other, "sli.sqlite")})
    assert run.rc != 0
    assert run.results("SLO gate (remediation)")[0]["slo_gate"]["outcome"] == "remediation"
    assert "vnic_profiles: the primary's vNIC profile app on network app is not mapped" in failure_text(run)
    assert run.primary_mutating == [] and run.mutating() == []
    assert status(sites.primary)["web01"] == "up"


VERIFY_TASKS = """
- name: The NICs of {{ dr_vm.name }} are on the drill network
  sre.ovirt.vm_info:
    auth: "{{ dr_target_auth }}"
    name: "{{ dr_vm.name }}"
    follow: [nics.vnic_profile]
  register: drill_nics

- name: Check the network of {{ dr_vm.name }}
  ansible.builtin.assert:
    that:
      - drill_nics.vms[0].nics | map(attribute='vnic_profile') | map(attribute='name') | unique | list == ['drill']
      - dr_vm.name not in (fail_vms | default([]))
    fail_msg: "{{ dr_vm.name }}: NICs on {{ drill_nics.vms[0].nics | map(attribute='vnic_profile') | list }}"
"""


def typed_defaults_as_strings():
    """Every bool/int/float dr_* option with a default, as the text a survey or ``-e key=value`` sends."""
    with open(os.path.join(REPO, "roles", "dr", "meta", "argument_specs.yml")) as f:
        options = yaml.safe_load(f)["argument_specs"]["main"]["options"]
    return {k: (str(v["default"]).lower() if v["type"] == "bool" else str(v["default"]))
            for k, v in options.items() if v.get("type") in ("bool", "int", "float") and "default" in v}


def drill(sites, **extra):
    # The role's typed options arrive as strings, as from AWX surveys (test_role_strings.py covers the other roles).
    strings = typed_defaults_as_strings()
    strings.update(dr_poll_interval="0.3", dr_replication_poll_interval="0.3")
    strings.update((k, str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
                   for k, v in extra.items())
    extra = strings
    verify = os.path.join(sites.dir, "verify.yml")
    with open(verify, "w") as f:
        f.write(VERIFY_TASKS)
    snapshots = os.path.join(sites.base, "snapshots")
    since = sites.secondary.requests()[-1]["seq"]
    run = sites.run(
        "dr_drill.yml", dr_snapshot_cmd=sites.snapshot_cmd(), dr_drill_snapshot_dir=snapshots,
        dr_verify_tasks=verify, **extra)
    # Nothing of the drill is left on the secondary: no VM, no domain, no snapshot.
    assert not [n for n in vms(sites.secondary) if n.endswith("-drill")]
    assert DOMAIN not in domain_names(sites.secondary) and DOMAIN + "-drill" not in domain_names(sites.secondary)
    assert os.listdir(snapshots) == []
    # The primary is not touched, not even read.
    assert run.primary_mutating == [] and run.primary_requests == []
    run.secondary_mutating = sites.secondary.mutating_requests(since)
    # Neither site's password appears in what the callbacks received (results, loop items) or printed.
    for secret in (sites.primary.password, sites.secondary.password):
        assert len(secret) >= 8 and secret not in run.stdout + run.stderr
    # One Engine session for the whole drill: one log-in to the secondary, one log-out, none to the primary.
    sso = [(r["method"], r["path"]) for r in run.requests if "/sso" in r["path"]]
    assert sso == [("POST", "/ovirt-engine/sso/oauth/token"), ("POST", "/ovirt-engine/services/sso-logout")], sso
    assert not [r for r in sites.primary.requests()[-50:] if "/sso" in r["path"] and r["seq"] > run.primary_since]
    return run


def test_drill_runs_the_replica_on_the_isolated_network_and_removes_everything(sites):
    run = drill(sites)
    assert run.rc == 0, failed(run)
    report = sites.report("drill")
    assert report["ok"] is True and report["mode"] == "drill"
    assert sorted(report["vms"]["recovered"]) == sorted(n + "-drill" for n in RUNNING)
    assert report["rto_seconds"] > 0
    assert [p["phase"] for p in report["phases"]] == ["snapshot", "import", "register", "start", "verify", "cleanup"]
    assert report["dns"]["changed"] == []
    assert run.secondary_mutating        # it did import, register, start and remove on the secondary
    assert status(sites.primary)["web01"] == "up"


def test_a_failed_drill_names_the_vm_and_still_cleans_up(sites):
    run = drill(sites, fail_vms=["db01-drill"])
    assert run.rc != 0
    assert "drill: 1 failure(s): db01-drill (verify)" in failure_text(run)
    report = sites.report("drill")
    assert report["ok"] is False
    assert [f["name"] for f in report["vms"]["failed"]] == ["db01-drill"]


# -- planned failover, re-run, failback ------------------------------------------------------------------------------
def test_planned_failover_rerun_and_failback():
    sites = Sites(mode="sync")
    try:
        run = sites.run("dr_failover.yml", dr_mode="planned")
        assert run.rc == 0, failed(run)
        assert status(sites.secondary) == {"web01": "up", "web02": "up", "db01": "up", "app01": "up",
                                           "tools01": "down"}
        assert not set(IN_OVF) & set(vms(sites.primary))          # the primary forgot them with the domain
        assert DOMAIN not in attached_domains(sites.primary) and DOMAIN in attached_domains(sites.secondary)
        report = sites.report("failover")
        assert report["ok"] is True and report["mode"] == "planned"
        assert report["vms"]["missing"] == [] and report["vms"]["failed"] == []
        assert sorted(report["vms"]["recovered"]) == sorted(RUNNING)
        assert report["rpo"]["data_loss_seconds"] == 0 and report["rpo"]["replica_age_seconds"] == 0
        # Start order: HA priority first (web01/web02 100, db01 80, app01 50).
        assert [v["name"] for v in report["vms"]["running"]] == RUNNING
        with open(os.path.join(sites.dir, "dr-state.json")) as f:
            state = json.load(f)
        assert state["active_site"] == "secondary"
        assert state["runs"]["failover"]["running_on_secondary"] == RUNNING

        again = sites.run("dr_failover.yml", dr_mode="planned")
        assert again.rc == 0, failed(again)
        assert again.changed == 0 and again.mutating() == [] and again.primary_mutating == []

        # Failback: replication turned around (the secondary's copy flows back into the primary's export).
        sites.primary.admin("POST", "replication/%s/reverse" % DOMAIN, {"mode": "sync"})
        back = sites.run("dr_failback.yml")
        assert back.rc == 0, failed(back)
        assert {n: s for n, s in status(sites.primary).items() if n in IN_OVF} == {
            "web01": "up", "web02": "up", "db01": "up", "app01": "up", "tools01": "down"}
        assert not set(IN_OVF) & set(vms(sites.secondary))
        assert DOMAIN in attached_domains(sites.primary) and DOMAIN not in attached_domains(sites.secondary)
        assert sites.report("failback")["vms"]["missing"] == []
    finally:
        sites.close()


# -- unplanned failover after the primary is lost -------------------------------------------------------------------
@pytest.mark.skipif(bind_skip_reason() is not None, reason=bind_skip_reason() or "")
def test_unplanned_failover_after_the_primary_is_lost():
    sites = Sites(mode="async", interval=60.0)
    work = tempfile.mkdtemp(prefix="sre-ovirt-dr-dns-")
    try:
        with BindServer(work, zone="dr.test", key_name="sre-ovirt-dr",
                        records=("web 300 IN A 192.0.2.10", "db 300 IN A 192.0.2.20")) as dns:
            _unplanned(sites, dns)
    finally:
        sites.close()
        shutil.rmtree(work, ignore_errors=True)


def _unplanned(sites, dns):
    p = sites.primary
    # A VM created after the last OVF store update: its disk is replicated, its definition is not.
    from ovirtsdk4 import types
    p.connection().system_service().vms_service().add(types.Vm(
        name="late01", cluster=types.Cluster(name="east"), template=types.Template(name="centos9-east")))
    record = sites.run("dr_record.yml")
    assert record.rc == 0, failed(record)
    # The guest writes; the replica catches up; the site is lost (replication frozen); a last write is lost.
    disk = _boot_disk(p, "web01")
    p.admin("POST", "/vms/web01/disks/%s/write" % disk, {"offset": 1 << 20, "length": 65536, "pattern": 7})
    synced = p.admin("GET", "replication")["domains"][DOMAIN]["last_sync"]
    deadline = time.monotonic() + 60
    while p.admin("GET", "replication")["domains"][DOMAIN]["last_sync"] == synced:
        assert time.monotonic() < deadline, "the replica did not copy"
        time.sleep(0.2)
    p.admin("POST", "replication/%s/freeze" % DOMAIN, {})
    expected = checksums(p, RUNNING)
    p.admin("POST", "/vms/web01/disks/%s/write" % disk, {"offset": 2 << 20, "length": 65536, "pattern": 9})
    assert checksums(p, ["web01"]) != {k: v for k, v in expected.items() if k[0] == "web01"}
    # What the array reports about the frozen replica; the primary's simulator (site and array) then goes.
    frozen = os.path.join(sites.dir, "replication.json")
    with open(frozen, "w") as f:
        json.dump(p.admin("GET", "replication"), f)
    with open(frozen) as f:
        at_failover = json.load(f)["domains"][DOMAIN]
    p.stop()

    run = sites.run(
        "dr_failover.yml", primary_alive=False, dr_mode="unplanned", dr_max_rpo=86400,
        dr_replication_status_cmd="cat %s" % shlex.quote(frozen),
        dr_dns_server=dns.server, dr_dns_port=dns.port, dr_dns_zone=dns.zone, dr_dns_key_name=dns.key_name,
        dr_dns_key_secret=dns.key_secret,
        dr_dns_records=[{"record": "web", "type": "A", "vm": "web01"}, {"record": "db", "type": "A", "vm": "db01"}])
    assert run.rc == 0, failed(run)
    s = sites.secondary
    assert status(s) == {"web01": "up", "web02": "up", "db01": "up", "app01": "up", "tools01": "down"}
    # Every disk holds what the replica held (the write after the freeze is lost, as it would be).
    assert checksums(s, RUNNING) == expected
    assert dns.resolve("web", "A") == guest_ips(s, "web01")
    assert dns.resolve("db", "A") == guest_ips(s, "db01")
    report = sites.report("failover")
    assert [m["name"] for m in report["vms"]["missing"]] == ["late01"]
    assert "created/changed after the last OVF update" in report["vms"]["missing"][0]["reason"]
    assert report["rpo"]["replica_age_seconds"] == at_failover["age"] > 0
    assert report["rpo"]["ovf_store_age_seconds"] == at_failover["ovf_store_age"] > at_failover["age"]
    assert sorted(c["record"] for c in report["dns"]["changed"]) == ["db", "web"]
    assert "late01" in run.stdout       # the printed summary names it


def _boot_disk(sim, vm):
    system = sim.connection().system_service()
    v = system.vms_service().list(search="name=%s" % vm)[0]
    att = system.vms_service().vm_service(v.id).disk_attachments_service().list()[0]
    return system.disks_service().disk_service(att.disk.id).get().alias
