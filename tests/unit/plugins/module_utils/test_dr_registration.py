# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The registration configuration built from a DR mapping, and the recorded primary inventory."""

import json

import pytest
from ovirtsdk4 import types as T
from ovirtsdk4.writer import Writer

from ansible_collections.sre.ovirt.plugins.module_utils.dr import inventory as I
from ansible_collections.sre.ovirt.plugins.module_utils.dr import registration as R

MAPPING = {
    "clusters": [{"primary": "east", "secondary": "west"}],
    "affinity_groups": [{"primary": "db-apart", "secondary": "db-apart"}],
    "affinity_labels": [{"primary": "gold", "secondary": "gold-west"}],
    "roles": [{"primary": "op", "secondary": "op-west"}],
    "domains": [{"primary": "corp-authz", "secondary": "corp-west-authz"}],
    "vnic_profiles": [{"primary_network": "app", "primary_profile": "app", "secondary_network": "app-west",
                       "secondary_profile": "app-west"}],
}
PROFILES = [{"network": "app-west", "profile": "app-west", "id": "w-app"},
            {"network": "drill", "profile": "drill", "id": "w-drill"}]


def test_build_configuration_with_sdk_types():
    rc = R.build(MAPPING, PROFILES)
    assert isinstance(rc, T.RegistrationConfiguration)
    assert [(m.from_.name, m.to.name) for m in rc.cluster_mappings] == [("east", "west")]
    assert rc.affinity_group_mappings is None          # same name on both sites: nothing to map
    assert [(m.from_.name, m.to.name) for m in rc.affinity_label_mappings] == [("gold", "gold-west")]
    assert [(m.from_.name, m.to.name) for m in rc.role_mappings] == [("op", "op-west")]
    assert [(m.from_.name, m.to.name) for m in rc.domain_mappings] == [("corp-authz", "corp-west-authz")]
    vnic = rc.vnic_profile_mappings[0]
    assert (vnic.from_.name, vnic.from_.network.name, vnic.to.id) == ("app", "app", "w-app")
    xml = Writer.write(T.Action(registration_configuration=rc))
    assert "<registration_configuration><affinity_label_mappings>" in xml
    assert '<to id="w-app"/>' in xml and "<network><name>app</name></network>" in xml


def test_build_refuses_unknown_target_profile_and_maps_nothing_to_none():
    bad = dict(MAPPING, vnic_profiles=[dict(MAPPING["vnic_profiles"][0], secondary_profile="nope")])
    with pytest.raises(R.RegistrationError, match=r"mappings.vnic_profiles\[0\]: no vNIC profile nope on network "
                                                  r"app-west on this Engine"):
        R.build(bad, PROFILES)
    assert R.build({}, PROFILES) is None


@pytest.mark.parametrize("ovf,default,expected", [
    ("east", None, ("west", None)),                    # the mapping decides
    ("east", "drill-cluster", ("west", None)),         # ... over the option
    ("other", "west", ("west", None)),                 # the option when unmapped
    ("west", None, ("west", None)),                    # the OVF's own cluster when it exists here
    ("other", None, (None, "cluster other of its configuration is not mapped (mappings.clusters) and does not "
                           "exist on this Engine; set cluster or map it")),
    ("other", "gone", (None, "cluster gone (the cluster option) does not exist on this Engine")),
])
def test_target_cluster(ovf, default, expected):
    assert R.target_cluster(ovf, MAPPING, default, {"west", "drill-cluster"}) == expected


def test_missing_disks():
    expected = [{"id": "d1", "alias": "root"}, {"id": "d2", "alias": "data"}]
    missing = R.missing_disks(expected, {"d1"})
    assert missing == [{"id": "d2", "alias": "data"}] and R.describe_disks(missing) == "data (d2)"


def test_recorded_inventory_and_lost_vms():
    vms = [{"name": "db", "id": "v2", "status": "up", "ha": True, "priority": 50, "cluster": "east",
            "storage_domains": ["dr-data"]},
           {"name": "scratch", "id": "v4", "status": "up", "ha": False, "priority": 0, "cluster": "east",
            "storage_domains": ["local"]}]
    text, doc = I.state_text(vms, ["dr-data"], 1795000000)
    assert json.loads(text) == doc
    assert doc["recorded_at_text"] == "2026-11-18T11:06:40Z"
    assert [v["name"] for v in doc["vms"]] == ["db"] and "cluster" not in doc["vms"][0]
    _t, later = I.state_text(vms, ["dr-data"], 1795009999)
    assert I.same_inventory(doc, later) and not I.same_inventory(None, later)
    vms[0]["status"] = "down"
    _t, changed = I.state_text(vms, ["dr-data"], 1795009999)
    assert not I.same_inventory(doc, changed)
    assert I.lost_vms(doc, ["web"]) == ["db"] and I.lost_vms(doc, ["db"]) == []


@pytest.mark.parametrize("text,names", [
    ("Cannot import VM. The following disk(s) could not be found on the Storage Domain: app01_Disk1, app01_data. "
     "Import them partially with allow_partial_import.", ["app01_Disk1", "app01_data"]),
    ("VM app01 has been imported from the given configuration but the following entities were missing: "
     "Disks: app01_data; Affinity groups: web-spread", ["app01_data"]),
    ("VM app01 has been imported from the given configuration but the following disk(s) failed to attach: d1.",
     ["d1"]),
    ("Cannot import VM. MAC Address 56:6f:1a:00:00:01 is already in use.", []),
])
def test_disks_named_in_engine_messages(text, names):
    assert R.disks_named(text) == names


def test_entities_named_in_the_partial_import_warning():
    text = ("VM web02 has been imported from the given configuration but the following entities were missing: "
            "Disks: web02_data; Vnic Mappings: app/app; Affinity groups: web-spread")
    assert R.entities_named(text) == ["Vnic Mappings: app/app", "Affinity groups: web-spread"]
    assert R.disks_named(text) == ["web02_data"]
    assert R.entities_named("VM web02 has been successfully imported from the given configuration.") == []
