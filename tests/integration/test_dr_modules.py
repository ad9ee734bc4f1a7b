# SPDX-License-Identifier: GPL-3.0-or-later
"""DR modules on two simulated sites: dr_plan (generate, validate, record), storage_domain_import, vm_register."""

import json
import os
import shutil

import yaml

from tests.integration.harness import run_playbook

NAME_MAP = {"east": "west", "app": "app-west"}
HA_ORDER = ["web01", "web02", "db01", "app01"]        # HA priorities 100, 100, 80, 50; tools01 is not HA
SECONDARY_POOL = "56:6f:2b:00:"


def play(*tasks):
    return [{"name": "dr", "hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}]


def site(sim):
    return {"url": sim.url, "username": sim.username, "password": sim.password, "ca_file": sim.ca_file}


def plan_task(primary, secondary, path, **kw):
    args = {"primary": site(primary), "secondary": site(secondary), "mapping_file": path}
    args.update(kw)
    return {"name": "plan", "sre.ovirt.dr_plan": args}


def import_task(secondary, **kw):
    args = {"name": "dr-data", "data_center": "dc-west", "type": "nfs", "address": "nfs-west.example.test",
            "path": os.path.join(secondary.state_dir, "exports", "dr-data")}
    args.update(kw)
    return {"name": "import", "sre.ovirt.storage_domain_import": args}


def fail_over_storage(primary, secondary):
    """The array's side of an unplanned failover: replicate dr-data to the secondary, then lose the primary."""
    if "dr-data" in (primary.admin("GET", "replication").get("domains") or {}):
        return
    primary.admin("POST", "replication", {"domain": "dr-data", "to_state_dir": secondary.state_dir, "mode": "sync"})
    primary.admin("POST", "replication/dr-data/freeze", {})


def dc_id(sim, name):
    conn = sim.connection()
    try:
        return conn.system_service().data_centers_service().list(search="name=%s" % name)[0].id
    finally:
        conn.close()


def vm_id(sim, name):
    conn = sim.connection()
    try:
        return conn.system_service().vms_service().list(search="name=%s" % name)[0].id
    finally:
        conn.close()


def last_seq(sim):
    log = sim.requests()
    return log[-1]["seq"] if log else 0


def three_ways(sim, task, before=(), **kw):
    """The task in check mode, for real, and again, in one playbook run (NAME-check, NAME, NAME-again): the run's
    POST/PUT/DELETE are the real task's only when the check sends none and the second run none."""
    name = task["name"]
    tasks = [dict(task, name=name + "-check", check_mode=True, diff=True), dict(task, diff=True),
             dict(task, name=name + "-again", diff=True)]
    run = run_playbook(sim, play(*(list(before) + tasks)), **kw)
    assert run.rc == 0, run.stdout[-3000:]
    again = run.results(name + "-again")
    assert not any(r["changed"] for r in again), json.dumps(again)[-2000:]
    return run.results(name + "-check"), run.results(name), again, run


def test_plan_import_register_on_the_secondary(dr_sites, tmp_path):
    primary, secondary = dr_sites
    path = str(tmp_path / "dr" / "mapping.yml")
    fail_over_storage(primary, secondary)

    # -- dr_plan refusals in one run: an unmapped network (nothing written), a hand-edited file whose profile
    # mapping is gone, a replica older than max_rpo
    marks = [last_seq(primary), last_seq(secondary)]
    bad_path = str(tmp_path / "broken.yml")
    gen = plan_task(primary, secondary, path, state="generated", name_map=NAME_MAP, storage_domains=["dr-data"])
    with open(bad_path, "w") as f:
        yaml.safe_dump({"sites": {"primary": {"data_center": "dc-east"}, "secondary": {"data_center": "dc-west"}},
                        "storage_domains": [{"name": "dr-data"}], "clusters": [{"primary": "east", "secondary": "west"}],
                        "vnic_profiles": [{"primary_network": "ovirtmgmt", "primary_profile": "ovirtmgmt",
                                           "secondary_network": "ovirtmgmt", "secondary_profile": "ovirtmgmt"}]}, f)
    unused = str(tmp_path / "check-only.yml")
    refusals = [dict(plan_task(primary, secondary, path, state="generated", name_map={"east": "west"}),
                     name="unmapped", ignore_errors=True),
                dict(plan_task(primary, secondary, unused, state="generated", name_map=NAME_MAP), name="check",
                     check_mode=True, diff=True),
                dict(gen, name="generated"),
                dict(plan_task(primary, secondary, bad_path), name="broken", ignore_errors=True),
                dict(plan_task(primary, secondary, path, replica_age=120, max_rpo=60), name="old",
                     ignore_errors=True),
                dict(plan_task(primary, secondary, path, replica_age=10, max_rpo=60), name="validated")]
    run = run_playbook(secondary, play(*refusals))
    assert run.rc == 0, run.stdout[-3000:]
    check = run.results("check")[0]
    assert check["changed"] and "clusters:" in check["diff"]["after"] and not os.path.exists(unused)
    res = run.results("unmapped")[0]
    assert res["failed"] and "vNIC profile app on network app has no match on the secondary" in res["msg"]
    assert len(res["errors"]) == 1
    assert run.results("generated")[0]["changed"]
    broken = run.results("broken")[0]
    assert "vnic_profiles: the primary's vNIC profile app on network app is not mapped" in broken["errors"]
    assert "affinity_labels: the primary's affinity label tier-db is not mapped" in broken["errors"]
    assert not [e for e in broken["errors"] if "clusters" in e or "ovirtmgmt" in e], broken["errors"]
    assert "replica_age: the replica is 120 s old, more than max_rpo 60 s" in run.results("old")[0]["msg"]
    assert not run.results("validated")[0].get("failed") and run.results("validated")[0]["errors"] == []
    assert primary.mutating_requests(marks[0]) == [] and secondary.mutating_requests(marks[1]) == []
    assert primary.api_requests(marks[0]), "dr_plan read the primary"
    mapping = yaml.safe_load(open(path))
    assert mapping["clusters"] == [{"primary": "east", "secondary": "west"}]
    assert {"primary_network": "app", "primary_profile": "app", "secondary_network": "app-west",
            "secondary_profile": "app-west"} in mapping["vnic_profiles"]
    assert [sd["name"] for sd in mapping["storage_domains"]] == ["dr-data"]
    assert mapping["storage_domains"][0]["data_center_secondary"] == "dc-west"
    assert [v["name"] for v in mapping["vms"]] == HA_ORDER + ["tools01"]      # batch01 is on east-local
    assert mapping["affinity_groups"] == [{"primary": "web-spread", "secondary": "web-spread"}]
    assert mapping["sites"]["primary"]["data_center"] == "dc-east"

    # -- generated again and recorded (twice): nothing changes the second time
    rec = {"name": "record", "sre.ovirt.dr_plan": {"state": "recorded", "primary": site(primary),
                                                   "mapping_file": path}}
    check_file = str(tmp_path / "check-inventory.json")
    rec_check = {"name": "record-check", "check_mode": True, "diff": True, "sre.ovirt.dr_plan": dict(
        rec["sre.ovirt.dr_plan"], state_file=check_file)}
    run = run_playbook(secondary, play(gen, rec_check, rec, dict(rec, name="again")))
    assert run.rc == 0, run.stdout[-3000:]
    assert run.results("record-check")[0]["changed"] and not os.path.exists(check_file)
    assert "db01" in run.results("record-check")[0]["diff"]["after"]["vms"]
    assert not run.results("plan")[0]["changed"] and run.results("record")[0]["changed"]
    assert not run.results("again")[0]["changed"]
    state = json.load(open(os.path.join(os.path.dirname(path), "inventory.json")))
    assert state["storage_domains"] == ["dr-data"] and state["recorded_at"] > 0
    vms = dict((v["name"], v) for v in state["vms"])
    assert sorted(vms) == sorted(HA_ORDER + ["tools01"])
    assert vms["db01"]["priority"] == 80 and vms["db01"]["ha"] and vms["db01"]["status"] == "up"
    assert vms["tools01"]["ha"] is False and vms["web01"]["storage_domains"] == ["dr-data"]

    # -- import the replica on the secondary: check, real, idempotent
    # both answers (the import, the attach) are lost after the Engine acted: each is looked for, never re-sent
    secondary.inject({"kind": "drop_connection", "when": "after", "count": 2, "methods": ["POST"],
                      "path": "/storagedomains$"})
    check, real, again, run = three_ways(secondary, import_task(secondary))
    secondary.clear_faults()
    assert check[0]["changed"] and check[0]["steps"] == ["import", "attach"]
    assert check[0]["diff"]["after"]["status"] == "active" and check[0]["diff"]["before"] == {}
    res = real[0]
    assert res["changed"] and res["storage_domain"]["status"] == "active"
    assert res["storage_domain"]["data_center"] == "dc-west"
    assert res["storage_domain"]["id"] == primary.admin("GET", "replication")["domains"]["dr-data"]["domain_id"]
    posts = [(r["method"], r["path"]) for r in run.mutating()]
    assert posts == [("POST", "/ovirt-engine/api/storagedomains"),
                     ("POST", "/ovirt-engine/api/datacenters/%s/storagedomains" % dc_id(secondary, "dc-west"))], posts
    assert all(r["fault"] for r in run.mutating()), run.mutating()

    # -- register the template, then the VMs, with the mapping file
    reg = {"name": "register", "sre.ovirt.vm_register": {"storage_domain": "dr-data", "kind": "{{ item }}",
                                                         "mapping_file": path}, "loop": ["template", "vm"]}
    check, real, again, run = three_ways(secondary, reg)
    vm_check = check[1]
    assert [v["name"] for v in vm_check["registered"]] == HA_ORDER + ["tools01"]
    # the template and five VMs, each registered once
    posts = [r["path"].rsplit("/", 3)[-3] for r in run.mutating()]
    assert posts == ["templates"] + ["vms"] * 5, run.mutating()
    vm_res = real[1]
    assert [v["name"] for v in vm_res["registered"]] == HA_ORDER + ["tools01"]
    assert vm_res["registered"][0]["ha_priority"] == 100 and vm_res["registered"][0]["status_in_ovf"] == "up"
    assert vm_res["failed_vms"] == [] and vm_res["unregistered_seen"] == 5
    assert real[0]["registered"][0]["name"] == "centos9-east"
    assert sorted(v["name"] for v in again[1]["unchanged"]) == sorted(HA_ORDER + ["tools01"])
    conn = secondary.connection()
    try:
        system = conn.system_service()
        west = system.clusters_service().list(search="name=west")[0]
        profiles = dict((p.id, p.name) for p in system.vnic_profiles_service().list())
        vm = system.vms_service().list(search="name=web01", follow="nics")[0]
        assert vm.cluster.id == west.id
        assert sorted(profiles[n.vnic_profile.id] for n in vm.nics) == ["app-west", "ovirtmgmt"]
        # the primary's MACs are outside the secondary's pool: reassigned from it
        assert all(n.mac.address.startswith(SECONDARY_POOL) for n in vm.nics), [n.mac.address for n in vm.nics]
    finally:
        conn.close()
    # -- the old primary forgets its lost domain (storage gone): destroyed, not formatted
    primary.inject({"kind": "storage_inactive", "target": "dr-data"})
    gone = {"name": "import", "sre.ovirt.storage_domain_import": {"name": "dr-data", "data_center": "dc-east",
                                                                  "state": "absent", "destroy": True}}
    check, real, again, run = three_ways(primary, gone)
    assert check[0]["steps"] == real[0]["steps"] == ["destroy"] and again[0]["steps"] == []
    assert real[0]["storage_domain"] == {} and check[0]["diff"]["after"] == {}
    assert [(r["method"], r["query"]) for r in run.mutating()] == [("DELETE", "destroy=true")], run.mutating()
    replica_files = os.listdir(os.path.join(primary.state_dir, "exports", "dr-data"))
    assert replica_files, "destroy leaves the storage as it was"


# Hand back after registering from the OVF store: the OVF store is written again before deactivating.
def test_hand_back_writes_the_ovf_store_and_detaches(dr_sites, tmp_path):
    primary, secondary = dr_sites
    fail_over_storage(primary, secondary)
    setup = [import_task(secondary),
             {"name": "register", "sre.ovirt.vm_register": {"storage_domain": "dr-data", "kind": "{{ item }}",
                                                            "names": ["{{ 'centos9-east' if item == 'template' "
                                                                      "else 'tools01' }}"], "cluster": "west"},
              "loop": ["template", "vm"]}]
    run = run_playbook(secondary, play(*setup))
    assert run.rc == 0, run.stdout[-3000:]
    check, real, again, run = three_ways(secondary, import_task(secondary, state="detached"))
    assert check[0]["steps"] == ["update_ovf_store", "deactivate", "detach"]
    assert real[0]["steps"] == ["update_ovf_store", "deactivate", "detach"]
    assert real[0]["storage_domain"]["status"] == "unattached" and again[0]["steps"] == []
    assert [r["method"] for r in run.mutating()] == ["POST", "POST", "DELETE"]


def test_partial_import_is_a_failure_naming_the_missing_disk(fresh_dr_sites, tmp_path):
    primary, secondary = fresh_dr_sites
    fail_over_storage(primary, secondary)
    conn = primary.connection()
    try:
        vm = conn.system_service().vms_service().list(search="name=app01", follow="disk_attachments.disk")[0]
        disk = vm.disk_attachments[0].disk
    finally:
        conn.close()
    replica = primary.admin("GET", "replication")["domains"]["dr-data"]["replica"]
    shutil.rmtree(os.path.join(replica, "images", disk.id))         # the array lost that image
    profiles = {"vnic_profiles": [{"primary_network": "app", "primary_profile": "app",
                                   "secondary_network": "app-west", "secondary_profile": "app-west"}]}
    template = {"storage_domain": "dr-data", "kind": "template", "cluster": "west"}
    register = {"storage_domain": "dr-data", "names": ["db01", "app01"],
                "mappings": dict(profiles, clusters=[{"primary": "east", "secondary": "west"}])}
    # the answer to db01's registration is lost (the Engine registered it): looked for, not sent again
    secondary.inject({"kind": "drop_connection", "when": "after", "count": 1, "methods": ["POST"],
                      "path": "/vms/[^/]+/register$"})
    run = run_playbook(secondary, play(import_task(secondary), {"name": "template", "sre.ovirt.vm_register": template},
                                       {"name": "register", "sre.ovirt.vm_register": register,
                                        "ignore_errors": True}))
    secondary.clear_faults()
    assert run.results("register") and run.rc == 0, run.stdout[-3000:]
    res = run.results("register")[0]
    assert res["failed"] is True and [v["name"] for v in res["registered"]] == ["db01"]
    posts = [r for r in run.mutating() if "/vms/" in r["path"] and r["path"].endswith("/register")]
    assert len(posts) == 2 and posts[0]["fault"], posts            # db01 once (answer dropped), app01 once
    [failure] = res["failed_vms"]
    assert failure["name"] == "app01" and disk.alias in failure["reason"] and failure["missing"] == [disk.alias]
    assert disk.alias in res["msg"]
    # allowed partially: registered without the disk, still reported as a failure naming it
    partial = {"name": "register", "ignore_errors": True, "sre.ovirt.vm_register": {
        "storage_domain": "dr-data", "names": ["app01"], "cluster": "west", "allow_partial_import": True,
        "mappings": profiles}}
    # a drill copy of web01 on the isolated network: a new name and new ids; web01 itself stays unregistered
    drill = {"name": "drill", "sre.ovirt.vm_register": {
        "storage_domain": "dr-data", "names": ["web01"], "name_suffix": "-drill", "cluster": "west",
        "mappings": {"vnic_profiles": [{"primary_network": "app", "primary_profile": "app",
                                        "secondary_network": "drill", "secondary_profile": "drill"}]}}}
    # no vNIC profile mapping: the Engine registers web02 with its app NIC on no network, a failure naming it
    nomap = {"name": "nomap", "ignore_errors": True, "sre.ovirt.vm_register": {
        "storage_domain": "dr-data", "names": ["web02"], "cluster": "west"}}
    check, real, again, run = three_ways(secondary, drill, before=[partial, nomap])
    res = run.results("nomap")[0]
    assert res["failed"] and res["registered"][0]["partial"] is True
    assert res["failed_vms"] == [{"name": "web02", "missing": ["Vnic Mappings: app/app"], "reason": (
        "registered partially: the Engine says: VM web02 has been imported from the given configuration but the "
        "following entities were missing: Vnic Mappings: app/app")}]
    res = run.results("register")[0]
    assert [v["name"] for v in res["registered"]] == ["app01"] and res["registered"][0]["partial"] is True
    assert res["failed"] and disk.alias in res["msg"] and res["failed_vms"][0]["missing"] == [disk.alias]
    assert [v["name"] for v in check[0]["registered"]] == ["web01-drill"] and check[0]["registered"][0]["id"] is None
    copy = real[0]["registered"][0]
    assert copy["name"] == "web01-drill" and copy["id"] != vm_id(primary, "web01") and copy["ha_priority"] == 100
    assert [v["name"] for v in again[0]["unchanged"]] == ["web01-drill"]
    assert len(run.mutating()) == 3                       # app01 (partial), web02 (unmapped NIC), the drill copy
    conn = secondary.connection()
    try:
        system = conn.system_service()
        profiles = dict((p.id, p.name) for p in system.vnic_profiles_service().list())
        vm = system.vms_service().list(search="name=web01-drill", follow="nics")[0]
        assert sorted(profiles[n.vnic_profile.id] for n in vm.nics) == ["drill", "ovirtmgmt"]
        sd = system.storage_domains_service().list(search="name=dr-data")[0]
        unregistered = system.storage_domains_service().storage_domain_service(sd.id).vms_service().list(
            unregistered=True)
        assert "web01" in [v.name for v in unregistered] and not system.vms_service().list(search="name=web01")
    finally:
        conn.close()
