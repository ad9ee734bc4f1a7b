# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""DR mapping: generated from two site inventories, validated against them, read and written."""

import copy

import pytest
import yaml

from ansible_collections.sre.ovirt.plugins.module_utils.dr import mapping as M


def east():
    return {
        "url": "https://east/ovirt-engine/api", "data_center": "dc-east", "clusters": ["east"],
        "affinity_groups": ["db-apart"], "affinity_labels": ["gold"], "mac_pools": ["Default"],
        "roles": ["dr-operator"], "domains": ["internal-authz"],
        "vnic_profiles": [{"network": "app", "profile": "app", "id": "p-app"},
                          {"network": "ovirtmgmt", "profile": "ovirtmgmt", "id": "p-mgmt"}],
        "storage_domains": [
            {"name": "dr-data", "id": "sd1", "type": "nfs", "address": "nas-east", "path": "/exports/dr",
             "data_center": "dc-east", "status": "active", "has_vm_disks": True},
            {"name": "local", "id": "sd2", "type": "nfs", "address": "nas-east", "path": "/exports/local",
             "data_center": "dc-east", "status": "active", "has_vm_disks": False}],
        "vms": [{"name": "web", "id": "v1", "status": "up", "ha": False, "priority": 0, "cluster": "east",
                 "storage_domains": ["dr-data"]},
                {"name": "db", "id": "v2", "status": "up", "ha": True, "priority": 50, "cluster": "east",
                 "storage_domains": ["dr-data"]},
                {"name": "lb", "id": "v3", "status": "down", "ha": True, "priority": 100, "cluster": "east",
                 "storage_domains": ["dr-data"]},
                {"name": "scratch", "id": "v4", "status": "up", "ha": False, "priority": 0, "cluster": "east",
                 "storage_domains": ["local"]}]}


def west():
    return {
        "url": "https://west/ovirt-engine/api", "data_center": "dc-west", "clusters": ["west"],
        "affinity_groups": ["db-apart"], "affinity_labels": ["gold"], "mac_pools": ["Default"],
        "roles": ["dr-operator"], "domains": ["internal-authz"],
        "vnic_profiles": [{"network": "app-west", "profile": "app-west", "id": "w-app"},
                          {"network": "ovirtmgmt", "profile": "ovirtmgmt", "id": "w-mgmt"},
                          {"network": "drill", "profile": "drill", "id": "w-drill"}],
        "storage_domains": [{"name": "west-data", "id": "sd9", "type": "nfs", "address": "nas-west",
                             "path": "/exports/west", "data_center": "dc-west", "status": "active",
                             "has_vm_disks": True}],
        "vms": []}


RULES = {"east": "west", "app": "app-west", "/exports/dr": "/replica/dr", "nas-east": "nas-west"}


def test_generate_maps_by_name_then_rules():
    mapping, errors = M.generate(east(), west(), RULES)
    assert errors == []
    assert mapping["clusters"] == [{"primary": "east", "secondary": "west"}]
    assert mapping["affinity_groups"] == [{"primary": "db-apart", "secondary": "db-apart"}]
    assert mapping["vnic_profiles"] == [
        {"primary_network": "app", "primary_profile": "app", "secondary_network": "app-west",
         "secondary_profile": "app-west"},
        {"primary_network": "ovirtmgmt", "primary_profile": "ovirtmgmt", "secondary_network": "ovirtmgmt",
         "secondary_profile": "ovirtmgmt"}]
    # only the domain with VM disks by default, its replica path from the rules
    assert [(sd["name"], sd["secondary_path"], sd["secondary_address"]) for sd in mapping["storage_domains"]] == [
        ("dr-data", "/replica/dr", "nas-west")]
    assert mapping["storage_domains"][0]["data_center_secondary"] == "dc-west"
    # VMs on the replicated domain, HA first by priority
    assert [v["name"] for v in mapping["vms"]] == ["lb", "db", "web"]
    assert mapping["sites"]["secondary"] == {"url": "https://west/ovirt-engine/api", "data_center": "dc-west"}


def test_generate_names_every_object_that_cannot_map():
    mapping, errors = M.generate(east(), west(), {"east": "west"})
    assert errors == ["vnic_profiles: the primary's vNIC profile app on network app has no match on the secondary "
                      "(no profile app on network app there; add a name_map rule or create it)"]
    assert [p["primary_network"] for p in mapping["vnic_profiles"]] == ["ovirtmgmt"]
    _m, errors = M.generate(east(), west(), {})
    assert any("cluster east has no match" in e and "no cluster named east there" in e for e in errors)


def test_generate_section_rules_and_bad_rules():
    rules = {"clusters": {"east": "west"}, "networks": {"app": "app-west"}, "vnic_profiles": {"app": "app-west"}}
    _m, errors = M.generate(east(), west(), rules)
    assert errors == []
    _m, errors = M.generate(east(), west(), dict(RULES, east=["west"]))
    assert errors[0].startswith("name_map.east: must be a name")


def test_generate_named_domains():
    mapping, errors = M.generate(east(), west(), RULES, storage_domains=["dr-data", "local"])
    assert errors == [] and [sd["name"] for sd in mapping["storage_domains"]] == ["dr-data", "local"]
    assert [v["name"] for v in mapping["vms"]] == ["lb", "db", "scratch", "web"]
    _m, errors = M.generate(east(), west(), RULES, storage_domains=["nope"])
    assert errors == ["storage_domains: no storage domain named nope in data center dc-east on the primary"]


def test_validate_generated_is_clean_and_names_each_problem():
    mapping, _e = M.generate(east(), west(), RULES)
    assert M.validate(mapping, east(), west()) == ([], [])
    changed = west()
    changed["vnic_profiles"] = [p for p in changed["vnic_profiles"] if p["network"] != "app-west"]
    changed["clusters"] = ["west2"]
    errors, _w = M.validate(mapping, east(), changed)
    assert "clusters[0].secondary: no cluster named west on the secondary" in errors
    assert "vnic_profiles[0]: no vNIC profile app-west on network app-west on the secondary" in errors
    grown = east()
    grown["affinity_labels"].append("silver")
    errors, _w = M.validate(mapping, grown, west())
    assert errors == ["affinity_labels: the primary's affinity label silver is not mapped"]


def test_validate_site_and_domain_checks():
    mapping, _e = M.generate(east(), west(), RULES)
    bad = copy.deepcopy(mapping)
    bad["storage_domains"][0]["data_center_secondary"] = "dc-north"
    bad["storage_domains"][0]["type"] = "nfs4"
    errors, _w = M.validate(bad, east(), west())
    assert "storage_domains[0].data_center_secondary: no data center dc-north on the secondary" in errors
    assert "storage_domains[0].type: nfs4 is not one of nfs, posixfs, glusterfs, iscsi, fcp" in errors
    attached = west()
    attached["storage_domains"].append(dict(east()["storage_domains"][0], data_center="dc-west"))
    errors, warnings = M.validate(mapping, east(), attached)
    assert errors == [] and "active on both sites" in warnings[0]


@pytest.mark.parametrize("doc,message", [
    ([], "mapping file: must be a YAML mapping"),
    ({"sites": {"primary": {}}}, "sites: must hold primary and secondary"),
    ({"sites": {"primary": {}, "secondary": {}}, "clusters": {"east": "west"}}, "clusters: must be a list"),
    ({"sites": {"primary": {}, "secondary": {}}, "clusters": [{"primary": "east"}]}, "clusters[0]: missing secondary"),
    ({"sites": {"primary": {}, "secondary": {}}, "roles": [{"primary": "a", "secondary": "b"},
                                                           {"primary": "a", "secondary": "c"}]},
     "roles[1]: a is mapped twice"),
    ({"sites": {"primary": {}, "secondary": {}}, "vnic_profiles": [{"primary_network": "a"}]},
     "vnic_profiles[0]: missing primary_profile, secondary_network, secondary_profile"),
])
def test_shape_errors(doc, message):
    errors = M.check_shape(doc)
    assert any(e.startswith(message) for e in errors), errors


def test_file_round_trip_and_idempotent_write(tmp_path):
    mapping, _e = M.generate(east(), west(), RULES)
    path = str(tmp_path / "dr" / "mapping.yml")
    text = M.dump(mapping)
    assert M.write_file(path, text) is True
    assert M.write_file(path, text) is False
    assert M.read_file(path) == mapping
    assert list(yaml.safe_load(open(path)))[:3] == ["sites", "storage_domains", "clusters"]
    with pytest.raises(M.MappingError, match="mapping_file: .* does not exist"):
        M.read_file(str(tmp_path / "none.yml"))
    (tmp_path / "bad.yml").write_text("clusters: {east: west}\n")
    with pytest.raises(M.MappingError, match="clusters: must be a list") as exc:
        M.read_file(str(tmp_path / "bad.yml"))
    assert exc.value.field == "mapping_file"


def test_merged_option_overrides_file_entries():
    mapping, _e = M.generate(east(), west(), RULES)
    out = M.merged(mapping, {"clusters": [{"primary": "east", "secondary": "other"}],
                             "vnic_profiles": [{"primary_network": "app", "primary_profile": "app",
                                                "secondary_network": "drill", "secondary_profile": "drill"}]})
    assert out["clusters"] == [{"primary": "east", "secondary": "other"}]
    assert [p["secondary_profile"] for p in out["vnic_profiles"]] == ["ovirtmgmt", "drill"]
    assert M.lookup(out, "clusters", "east") == "other" and M.lookup(out, "clusters", "x") is None
    assert mapping["clusters"] == [{"primary": "east", "secondary": "west"}]
