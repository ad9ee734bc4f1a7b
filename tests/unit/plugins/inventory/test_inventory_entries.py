# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The inventory plugin's pure logic: HA tiers, the address Ansible connects to, groups and host variables, the XML
records and the bounded requests (a fake Engine answering the list requests)."""

import pytest

from ansible_collections.sre.ovirt.plugins.module_utils.inventory import collect, entries
from ansible_collections.sre.ovirt.plugins.inventory.engine import InventoryModule

OPTIONS = {"ha_tiers": {"gold": 100, "silver": 0}, "ha_tier_disabled": "bronze", "ansible_host_prefer": "ipv4"}


@pytest.mark.parametrize("enabled,priority,tier", [
    (True, 100, "gold"), (True, 50, "silver"), (True, 1, "silver"), (True, 0, "silver"), (False, 100, "bronze"),
    (True, None, "silver")])
def test_ha_tier_follows_the_house_tiers(enabled, priority, tier):
    assert entries.ha_tier(enabled, priority) == tier


def test_ha_tier_with_custom_tiers_below_every_minimum_is_the_lowest():
    tiers = {"platinum": 90, "gold": 60, "silver": 30}
    assert [entries.ha_tier(True, p, tiers) for p in (95, 90, 89, 30, 10)] == [
        "platinum", "platinum", "gold", "silver", "silver"]
    assert entries.ha_tier(False, 95, tiers, disabled_tier="") is None


def test_ha_tiers_option_is_checked():
    entries.validate_ha_tiers({"gold": "100"})
    with pytest.raises(ValueError, match="tier gold must be an integer, got 'high'"):
        entries.validate_ha_tiers({"gold": "high"})
    with pytest.raises(ValueError, match="must be a dict"):
        entries.validate_ha_tiers(["gold"])


IPS = [{"address": "fe80::1", "version": "v6"}, {"address": "2001:db8::5", "version": "v6"},
       {"address": "127.0.0.1", "version": "v4"}, {"address": "198.18.0.7", "version": "v4"}]


def test_address_prefers_ipv4_and_skips_loopback_and_link_local():
    assert entries.choose_address(IPS) == "198.18.0.7"
    assert entries.choose_address(IPS, "ipv6") == "2001:db8::5"
    assert entries.choose_address(IPS[:2], "ipv4") == "2001:db8::5"          # the other family before the fqdn
    assert entries.choose_address([{"address": "198.18.0.9"}], "ipv6") == "198.18.0.9"   # version read from address
    assert entries.choose_address([], "ipv4", (None, "web1.example.test")) == "web1.example.test"
    assert entries.choose_address(IPS[:1] + IPS[2:3]) is None
    with pytest.raises(ValueError, match="ipv4, ipv6"):
        entries.choose_address(IPS, "ipv5")


def test_group_names_keep_only_letters_digits_and_underscores():
    assert entries.group_name("tag", "web tier-1.prod") == "tag_web_tier_1_prod"
    assert entries.group_name("status", "up") == "status_up"


VMS_XML = b"""<vms>
<vm href="/ovirt-engine/api/vms/v1" id="v1"><name>web1</name><description></description><status>up</status>
 <memory>2147483648</memory><cpu><topology><cores>2</cores><sockets>2</sockets><threads>1</threads></topology></cpu>
 <os><type>rhel_9x64</type></os><high_availability><enabled>true</enabled><priority>50</priority></high_availability>
 <fqdn>web1.example.test</fqdn><cluster href="/c/c1" id="c1"/><host href="/h/h1" id="h1"/>
 <tags><tag id="t1"><name>web</name></tag><tag id="t2"><name>prod east</name></tag></tags>
 <reported_devices><reported_device id="r1"><ips><ip><address>fe80::5</address><version>v6</version></ip>
  <ip><address>198.18.0.2</address><version>v4</version></ip></ips><mac><address>56:6f:00:00:00:01</address></mac>
  <name>nic1</name><vm href="/ovirt-engine/api/vms/v1" id="v1"/></reported_device></reported_devices></vm>
<vm href="/ovirt-engine/api/vms/v2" id="v2"><name>db1</name><status>down</status><os><type>other</type></os>
 <high_availability><enabled>false</enabled><priority>0</priority></high_availability><cluster id="c2"/>
 <tags href="/ovirt-engine/api/vms/v2/tags"/><reported_devices href="/ovirt-engine/api/vms/v2/reporteddevices"/></vm>
</vms>"""
NAMES = {"clusters": {"c1": "Default", "c2": "prod"}, "datacenters": {"d1": "DC1"},
         "cluster_dc": {"c1": "d1", "c2": "d1"}, "hosts": {"h1": "host01"}}


def test_vm_records_from_one_list_answer():
    vms = [collect.vm_record(v, NAMES) for v in collect.iter_entities(VMS_XML, "vm")]
    assert [v["name"] for v in vms] == ["web1", "db1"]             # the reported device's <vm> is no VM of the list
    web = vms[0]
    assert (web["cluster"], web["datacenter"], web["host"], web["cpu"], web["memory"]) == (
        "Default", "DC1", "host01", 4, 2 << 30)
    assert web["tags"] == ["prod east", "web"] and web["ha"] == {"enabled": True, "priority": 50}
    assert [ip["address"] for ip in web["ips"]] == ["fe80::5", "198.18.0.2"]
    assert vms[1]["tags"] == [] and vms[1]["ips"] == [] and vms[1]["host"] is None and vms[1]["fqdn"] is None

    hostvars, groups = entries.vm_entry(web, OPTIONS)
    assert hostvars["ansible_host"] == "198.18.0.2"
    assert hostvars["ovirt_ha"] == {"enabled": True, "priority": 50, "tier": "silver"}
    assert hostvars["ovirt_ips"] == ["fe80::5", "198.18.0.2"] and hostvars["ovirt_kind"] == "vm"
    assert sorted(groups) == sorted(["ovirt_vms", "cluster_Default", "datacenter_DC1", "status_up", "tag_prod_east",
                                     "tag_web", "os_rhel_9x64", "ha_silver"])
    hostvars, groups = entries.vm_entry(vms[1], dict(OPTIONS, ha_tier_disabled=""))
    assert "ansible_host" not in hostvars and not [g for g in groups if g.startswith("ha_")]


def test_host_entry_uses_the_engine_address():
    hostvars, groups = entries.host_entry({"id": "h1", "name": "host01", "address": "host01.example.test",
                                           "status": "maintenance", "cluster": "Default", "tags": ["rack 1"]})
    assert hostvars["ansible_host"] == "host01.example.test" and hostvars["ovirt_kind"] == "host"
    assert groups == ["ovirt_hosts", "cluster_Default", "status_maintenance", "tag_rack_1"]


class FakeEngine:
    """Answers the plugin's list requests from canned XML and records them."""

    def __init__(self, vm_count):
        self.calls = []
        self.vm_count = vm_count

    def raw_get(self, client, path, query=None):
        self.calls.append((path, dict(query or {})))
        if path == "/vms":
            size = int(query.get("max", self.vm_count))
            page = int(query["search"].rsplit(" ", 1)[1]) if "page" in query.get("search", "") else 1
            first = (page - 1) * size
            ids = range(first, min(first + size, self.vm_count))
            return ("<vms>%s</vms>" % "".join(
                '<vm id="v%d"><name>vm%05d</name><status>up</status><cluster id="c1"/></vm>' % (i, i)
                for i in ids)).encode()
        tag = {"/datacenters": "data_centers", "/clusters": "clusters", "/hosts": "hosts"}[path]
        return ("<%s></%s>" % (tag, tag)).encode()


@pytest.mark.parametrize("page_size,vm_requests", [(0, 1), (100, 3), (125, 3), (1000, 1)])
def test_requests_are_bounded_whatever_the_number_of_vms(monkeypatch, page_size, vm_requests):
    engine = FakeEngine(250)
    monkeypatch.setattr(collect, "raw_get", engine.raw_get)
    data = collect.fetch(object(), vm_search="cluster=prod", page_size=page_size)
    assert len(data["vms"]) == 250 and len(set(v["id"] for v in data["vms"])) == 250
    vm_calls = [q for p, q in engine.calls if p == "/vms"]
    assert len(vm_calls) == vm_requests and len(engine.calls) == 3 + vm_requests
    assert all(q["follow"] == "tags,reported_devices" and q["search"].startswith("cluster=prod") for q in vm_calls)
    assert [p for p, q in engine.calls[:3]] == ["/datacenters", "/clusters", "/hosts"]


def test_vm_query():
    assert collect.vm_query() == {"follow": "tags,reported_devices"}
    assert collect.vm_query("tag=web", 500, 2) == {"follow": "tags,reported_devices", "max": "500",
                                                   "search": "tag=web sortby name asc page 2"}


@pytest.mark.parametrize("name,ok", [("engine.ovirt.yml", True), ("prod.ovirt.yaml", True), ("ovirt.yml", True),
                                     ("engine.yml", False), ("myovirt.yml", False), ("engine.ovirt.yml.bak", False)])
def test_verify_file_takes_ovirt_yml_names(tmp_path, name, ok):
    path = tmp_path / name
    path.write_text("plugin: sre.ovirt.engine\n")
    assert InventoryModule().verify_file(str(path)) is ok


def test_a_vm_named_like_a_host_does_not_overwrite_the_host(monkeypatch):
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    plugin = InventoryModule()
    plugin.inventory, plugin.loader = InventoryData(), DataLoader()
    options = dict(OPTIONS, strict=False, compose={}, groups={}, keyed_groups=[])
    monkeypatch.setattr(plugin, "get_option", options.get)
    warnings = []
    monkeypatch.setattr(plugin.display, "warning", warnings.append)
    host = {"id": "h1", "name": "node1", "address": "node1.example.test", "status": "up", "cluster": "Default"}
    vm = {"id": "v1", "name": "node1", "status": "down", "cluster": "Default", "ha": {}, "ips": [], "tags": []}
    plugin._populate({"hosts": [host], "vms": [vm]})
    node = plugin.inventory.get_host("node1")
    assert node.vars["ovirt_kind"] == "host" and node.vars["ansible_host"] == "node1.example.test"
    assert "ovirt_vms" not in plugin.inventory.groups or not plugin.inventory.groups["ovirt_vms"].hosts
    assert warnings and "both named node1" in warnings[0]
