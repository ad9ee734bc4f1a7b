# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The inventory plugin sre.ovirt.engine through ``ansible-inventory`` against the simulator: groups, host variables,
ansible_host from the guest agent, Constructable options, errors, the cache (zero requests) and the bounded number
of requests; and the package method of the rolling patch with the plugin as its inventory."""

import json
import os
import subprocess
import sys

import ovirtsdk4.types as T
import pytest

from ovirt_engine_sim.testing import wait_status
from tests.integration.conftest import simulator
from tests.integration.harness import run_playbook
from tests.support.collection import REPO, ansible_env

ANSIBLE_INVENTORY = os.path.join(REPO, ".venv", "bin", "ansible-inventory")
# name: (HA, priority, tags, os, running)
VMS = {
    "web1": (True, 100, ["web"], "rhel_9x64", True),
    "web2": (True, 50, ["web", "prod east"], "rhel_9x64", True),
    "db1": (False, 0, ["db"], "debian_12", False),
    "batch1": (True, 1, [], "rhel_9x64", True),
}


def unsafe(value):
    """ansible-inventory --list marks strings from an inventory plugin as untrusted: {"__ansible_unsafe": "x"}."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return dict((k, unsafe(v)) for k, v in value.items())
    if isinstance(value, list):
        return [unsafe(v) for v in value]
    return value


def inventory(sim, path, *args, env=None, drop=()):
    e = ansible_env(sim, dict({"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"}, **(env or {})))
    for name in drop:
        e.pop(name, None)
    mark = sim.requests()[-1]["seq"] if sim.requests() else 0
    proc = subprocess.run([ANSIBLE_INVENTORY, "-i", str(path)] + list(args or ["--list"]), env=e, cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)
    out = unsafe(json.loads(proc.stdout)) if proc.returncode == 0 and "--list" in (args or ["--list"]) else None
    return proc, out, sim.requests(mark)


def write(tmp_path, text, name="engine.ovirt.yml"):
    path = tmp_path / name
    path.write_text("plugin: sre.ovirt.engine\n" + text)
    return path


def members(listing, group):
    return sorted(listing.get(group, {}).get("hosts", []))


@pytest.fixture(scope="module")
def estate(sim):
    conn = sim.connection()
    system = conn.system_service()
    vms = system.vms_service()
    tags = system.tags_service()
    for name in sorted(set(t for spec in VMS.values() for t in spec[2])):
        tags.add(T.Tag(name=name))
    for name, (ha, priority, vm_tags, os_type, running) in VMS.items():
        vm = vms.add(T.Vm(name=name, cluster=T.Cluster(name="Default"), template=T.Template(name="centos9-template"),
                          os=T.OperatingSystem(type=os_type),
                          high_availability=T.HighAvailability(enabled=ha, priority=priority)))
        service = vms.vm_service(vm.id)
        for tag in vm_tags:
            service.tags_service().add(T.Tag(name=tag))
        wait_status(service, T.VmStatus.DOWN)
        if running:
            service.start()
    for name, spec in VMS.items():
        if spec[4]:
            wait_status(vms.vm_service(vms.list(search="name=%s" % name)[0].id), T.VmStatus.UP)
    # What the guest agents report, read the SDK's way (one request per VM: what the plugin never does).
    reported = {}
    for vm in vms.list():
        reported[vm.name] = [ip.address for d in vms.vm_service(vm.id).reported_devices_service().list()
                             for ip in d.ips or []]
    conn.close()
    return reported


def test_graph_and_list_group_by_cluster_tag_ha_status_and_os(sim, estate, tmp_path):
    path = write(tmp_path, "")
    proc, listing, requests = inventory(sim, path, "--list")
    assert proc.returncode == 0, proc.stderr
    assert members(listing, "ovirt_vms") == ["batch1", "db1", "web1", "web2"]
    assert members(listing, "ovirt_hosts") == ["host01", "host02", "host03"]
    assert members(listing, "cluster_Default") == ["batch1", "db1", "host01", "host02", "host03", "web1", "web2"]
    assert members(listing, "datacenter_Default") == members(listing, "cluster_Default")
    assert members(listing, "tag_web") == ["web1", "web2"] and members(listing, "tag_prod_east") == ["web2"]
    assert (members(listing, "ha_gold"), members(listing, "ha_silver"), members(listing, "ha_bronze")) == (
        ["web1"], ["batch1", "web2"], ["db1"])
    assert members(listing, "status_down") == ["db1"]
    assert members(listing, "status_up") == ["batch1", "host01", "host02", "host03", "web1", "web2"]
    assert members(listing, "os_debian_12") == ["db1"]

    hostvars = listing["_meta"]["hostvars"]
    web1 = hostvars["web1"]
    ipv4 = [a for a in estate["web1"] if ":" not in a]
    assert estate["web1"] and web1["ansible_host"] == ipv4[0]          # the guest agent's IPv4 address
    assert web1["ovirt_ips"] == estate["web1"] and web1["ovirt_fqdn"] == "web1.example.test"
    assert web1["ovirt_ha"] == {"enabled": True, "priority": 100, "tier": "gold"}
    assert (web1["ovirt_cluster"], web1["ovirt_status"], web1["ovirt_os"], web1["ovirt_memory"], web1["ovirt_cpu"]) \
        == ("Default", "up", "rhel_9x64", 2 << 30, 2)
    assert web1["ovirt_host"] in ("host01", "host02", "host03") and web1["ovirt_tags"] == ["web"]
    assert "ansible_host" not in hostvars["db1"] and hostvars["db1"]["ovirt_ips"] == []   # down: nothing reported
    assert hostvars["host02"]["ansible_host"] == "host02.example.test"
    assert not [k for h in hostvars.values() for k in h if k.startswith("ovirt_password") or k == "password"]

    # One log-in, one list per kind, one log-out: never a request per VM.
    assert [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in requests] == [
        ("POST", "token"), ("GET", "datacenters"), ("GET", "clusters"), ("GET", "hosts"), ("GET", "vms"),
        ("POST", "sso-logout")]

    proc, unused, ignored = inventory(sim, path, "--graph")
    assert proc.returncode == 0, proc.stderr
    for group in ("@cluster_Default:", "@tag_web:", "@ha_gold:", "@ha_silver:", "@status_up:", "@ovirt_hosts:"):
        assert group in proc.stdout


def test_compose_keyed_groups_groups_search_and_ipv6(sim, estate, tmp_path):
    path = write(tmp_path, """
want_hosts: false
vm_search: status=up
ansible_host_prefer: ipv6
ha_tiers: {critical: 90, normal: 10}
ha_tier_disabled: ""
keyed_groups:
  - key: ovirt_ha.tier
    prefix: tier
groups:
  webservers: "'web' in ovirt_tags"
compose:
  ansible_user: "'cloud-user' if ovirt_os.startswith('rhel') else 'root'"
  guest_ipv4: ovirt_ips | select('search', '^[0-9.]+$') | first
strict: true
""")
    proc, listing, requests = inventory(sim, path)
    assert proc.returncode == 0, proc.stderr
    hostvars = listing["_meta"]["hostvars"]
    assert sorted(hostvars) == ["batch1", "web1", "web2"]                     # the search: running VMs only
    assert members(listing, "webservers") == ["web1", "web2"]
    assert (members(listing, "tier_critical"), members(listing, "tier_normal"), members(listing, "ha_normal")) == (
        ["web1"], ["batch1", "web2"], ["batch1", "web2"])
    assert "ovirt_hosts" not in listing
    web2 = hostvars["web2"]
    assert web2["ansible_host"] == [a for a in estate["web2"] if ":" in a][0]   # IPv6 first
    assert web2["ansible_user"] == "cloud-user" and web2["guest_ipv4"] == [a for a in estate["web2"] if ":" not in a][0]
    vm_list = [r for r in requests if r["path"].endswith("/vms")]
    assert len(vm_list) == 1 and "status%3Dup" in vm_list[0]["query"]


@pytest.mark.parametrize("text,message", [
    ("vm_serch: status=up\n", "unknown option(s) vm_serch; known: "),
    ("ansible_host_prefer: ipv5\n", "Valid values are: ipv4, ipv6"),
    ("ha_tiers: {gold: high}\n", "ha_tiers: the lowest priority of tier gold must be an integer, got 'high'"),
    ("url: engine.example.com\n", "url: 'engine.example.com' is not an http(s) URL"),
])
def test_a_bad_option_fails_before_any_request_naming_it(sim, tmp_path, text, message):
    proc, unused, requests = inventory(sim, write(tmp_path, text))
    assert proc.returncode != 0
    assert message in " ".join(proc.stderr.split())
    assert requests == []


def test_a_wrong_password_names_the_engine(sim, tmp_path):
    proc, unused, ignored = inventory(sim, write(tmp_path, ""), env={"OVIRT_PASSWORD": "wrong"})
    assert proc.returncode != 0
    assert "reading the inventory from %s failed" % sim.url in " ".join(proc.stderr.split())


def test_awx_credential_ini_file_gives_the_ca(sim, estate, tmp_path):
    # AWX's Red Hat Virtualization credential: OVIRT_URL/USERNAME/PASSWORD and OVIRT_INI_PATH, the CA only in the ini.
    ini = tmp_path / "ovirt.ini"
    ini.write_text("[ovirt]\novirt_url=%s\novirt_username=%s\novirt_password=%s\novirt_ca_file=%s\n" % (
        sim.url, sim.username, sim.password, sim.ca_file))
    path = write(tmp_path, "want_vms: false\n")
    proc, listing, ignored = inventory(sim, path, env={"OVIRT_INI_PATH": str(ini)}, drop=["OVIRT_CAFILE"])
    assert proc.returncode == 0, proc.stderr
    assert members(listing, "ovirt_hosts") == ["host01", "host02", "host03"]
    # Without the ini file nothing says which CA to trust: the simulator's certificate is refused (TLS verified).
    proc, unused, ignored = inventory(sim, path, drop=["OVIRT_CAFILE"])
    assert proc.returncode != 0 and "reading the inventory from %s failed" % sim.url in " ".join(proc.stderr.split())


def test_the_cache_answers_the_second_run_without_a_request(sim, estate, tmp_path):
    path = write(tmp_path, """
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: %s
cache_timeout: 600
""" % (tmp_path / "cache"))
    proc, first, requests = inventory(sim, path)
    assert proc.returncode == 0, proc.stderr
    assert len(requests) == 6
    proc, second, requests = inventory(sim, path)
    assert proc.returncode == 0, proc.stderr
    assert requests == []                                  # no log-in, no list
    assert second == first
    # --flush-cache reads the Engine again (and refreshes the cache).
    proc, unused, requests = inventory(sim, path, "--list", "--flush-cache")
    assert proc.returncode == 0 and len(requests) == 6


def test_package_method_patches_the_hosts_the_plugin_lists(patch_estate, tmp_path):
    # Acceptance: rolling_patch_method=package with the plugin as the inventory. The hypervisors come from the
    # Engine; compose makes each one reachable here (a local connection stands in for SSH to its address).
    # A moderate estate first (the large one is in tests/benchmarks/bench_inventory.py): 240 VMs, 6 requests.
    proc, listing, requests = inventory(patch_estate, write(tmp_path, "", name="all.ovirt.yml"))
    assert proc.returncode == 0, proc.stderr
    assert len(members(listing, "ovirt_vms")) == 240 and len(members(listing, "ha_silver")) == 24
    assert len(requests) == 6

    path = write(tmp_path, """
want_vms: false
compose:
  ansible_connection: "'local'"
  ansible_python_interpreter: "'%s'"
""" % sys.executable)
    proc, listing, requests = inventory(patch_estate, path)
    assert proc.returncode == 0, proc.stderr
    assert members(listing, "ovirt_hosts") == ["host%02d" % i for i in range(1, 13)]
    assert len(requests) == 5                           # no VM list

    log = tmp_path / "updates.log"
    script = os.path.join(REPO, "tests", "support", "fake_package_update.py")
    command = "%s %s %s %s" % (sys.executable, script, patch_estate.admin_url, log)
    env = {"SIM_AUTH": patch_estate._auth, "SIM_CA_FILE": patch_estate.ca_file,
           "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"}
    run = run_playbook(patch_estate, os.path.join(REPO, "playbooks", "patch_hosts.yml"), extra_args=["-i", str(path)],
                       env=env, timeout=900, extra_vars={"rolling_patch_poll_interval": 1,
                                                         "rolling_patch_method": "package",
                                                         "rolling_patch_package_command": command})
    assert run.rc == 0, run.stdout[-3000:]
    lines = log.read_text().split()
    assert dict(zip(lines[0::2], lines[1::2])) == dict(("host%02d" % i, "maintenance") for i in range(1, 13))
    assert not [r for r in run.requests if r["method"] == "POST" and r["path"].endswith("/upgrade")]
    hosts = patch_estate.state()["hosts"]
    assert not [h["name"] for h in hosts if h["update_available"] or h["status"] != "up"]


@pytest.fixture
def large_estate():
    """The ``large`` seed (200 hosts, 10,000 VMs, 80 % running): about 10 s to start."""
    yield from simulator(seed="large")


def test_ten_thousand_vms_cost_four_list_requests(large_estate, tmp_path):
    proc, unused, requests = inventory(large_estate, write(tmp_path, ""), "--graph")
    assert proc.returncode == 0, proc.stderr[-2000:]
    graph = proc.stdout
    assert graph.count("|--vm0") == 10000 * 6   # ovirt_vms, cluster_, datacenter_, status_, os_, ha_ (no tags)
    assert "@ha_silver:" in graph and "@ha_bronze:" in graph and "@cluster_cluster03:" in graph
    api = [r for r in requests if r["path"].startswith("/ovirt-engine/api")]
    assert len(api) == 4 and len(requests) == 6         # datacenters, clusters, hosts, vms; log-in, log-out
