# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic of the vm module: validation of what users type, and exact comparison."""

import pytest
from ovirtsdk4 import types as T

from ansible_collections.sre.ovirt.plugins.module_utils.vm import spec

GIB = 1 << 30


def params(**kw):
    return kw


@pytest.mark.parametrize("text,expected", [("4GiB", 4 * GIB), ("512MiB", 512 << 20), ("1TiB", 1 << 40),
                                           ("2048", 2048), (2048, 2048), ("1.5GiB", 3 * GIB // 2),
                                           ("4 GiB", 4 * GIB), ("4gib", 4 * GIB)])
def test_sizes(text, expected):
    assert spec.parse_size(text, "memory") == expected


@pytest.mark.parametrize("text", ["4GB", "4 GiB", "4g", "4G", "4Gi", "4096MiB", "4096MB", "4096m", "4194304KiB",
                                  "4194304k", "0.00390625TB", "4294967296", 4294967296])
def test_four_gib_spelled_every_way_users_write_it(text):
    """GB/MB/KB/TB and k/m/g/t are binary, as in the Admin Portal and ansible-core's human_to_bytes."""
    assert spec.parse_size(text, "memory") == 4 * GIB
    assert spec.desired_from_params(params(memory=text))["memory"] == 4 * GIB


def test_a_number_without_unit_is_bytes_and_the_error_says_so():
    with pytest.raises(spec.SpecError) as err:
        spec.desired_from_params(params(memory="4096"))
    assert err.value.field == "memory"
    assert "without a unit is bytes" in str(err.value) and "4096MiB" in str(err.value)


def test_disk_sizes_read_gb_as_gib_too():
    d = spec.desired_from_params(params(disks=[{"name": "d1", "size": "20GB"}]))
    assert d["disks"][0]["size"] == 20 * GIB


@pytest.mark.parametrize("text", ["4 GiBs", "four", "4XB", "", "-1GiB", "0.3B", "4gibb", "4P"])
def test_bad_sizes_name_the_field_and_units(text):
    with pytest.raises(spec.SpecError) as err:
        spec.parse_size(text, "memory")
    assert err.value.field == "memory"
    assert "GiB" in str(err.value) and "MiB" in str(err.value)


def test_guaranteed_above_memory_is_refused():
    with pytest.raises(spec.SpecError) as err:
        spec.desired_from_params(params(memory="2GiB", memory_guaranteed="4GiB"))
    assert err.value.field == "memory_guaranteed"


def test_duplicate_nic_names_are_refused():
    with pytest.raises(spec.SpecError) as err:
        spec.desired_from_params(params(nics=[{"name": "nic1"}, {"name": "nic1", "profile": "x"}]))
    assert err.value.field == "nics[1].name" and "duplicate" in str(err.value)


@pytest.mark.parametrize("mac,why", [("01:00:5e:00:00:01", "multicast"), ("56:6f:00:00:00", "not a MAC"),
                                     ("zz:6f:00:00:00:01", "not a MAC")])
def test_bad_macs(mac, why):
    with pytest.raises(spec.SpecError) as err:
        spec.desired_from_params(params(nics=[{"name": "nic1", "mac": mac}]))
    assert err.value.field == "nics[0].mac" and why in str(err.value)


@pytest.mark.parametrize("ipv4,field", [
    ({"address": "192.0.2.300/24"}, "cloud_init.ipv4.address"),
    ({"address": "192.0.2.10/33"}, "cloud_init.ipv4.address"),
    ({"address": "192.0.2.10"}, "cloud_init.ipv4.address"),
    ({"address": "192.0.2.0/24"}, "cloud_init.ipv4.address"),
    ({"address": "192.0.2.10/24", "gateway": "198.51.100.1"}, "cloud_init.ipv4.gateway"),
    ({"address": "2001:db8::5/64"}, "cloud_init.ipv4.address"),
])
def test_bad_ipv4(ipv4, field):
    with pytest.raises(spec.SpecError) as err:
        spec.desired_from_params(params(cloud_init={"ipv4": ipv4}))
    assert err.value.field == field


def test_good_cloud_init_is_normalised():
    d = spec.desired_from_params(params(cloud_init={
        "hostname": "web1", "user_name": "cloud", "authorized_ssh_keys": ["ssh-ed25519 AAAAC3Nza user@host"],
        "dns_servers": ["192.0.2.53", "2001:db8::53"],
        "ipv4": {"address": "192.0.2.10/24", "gateway": "192.0.2.1"},
        "ipv6": {"address": "2001:db8::10/64", "gateway": "2001:db8::1"}}))
    assert d["cloud_init"]["ipv4"] == {"address": "192.0.2.10", "prefix": 24, "gateway": "192.0.2.1"}
    assert d["cloud_init"]["ipv6"]["prefix"] == 64


def _vm(**kw):
    base = dict(name="web1", description="", comment="", memory=4 * GIB,
                memory_policy=T.MemoryPolicy(guaranteed=GIB, max=16 * GIB),
                cpu=T.Cpu(topology=T.CpuTopology(sockets=2, cores=1, threads=1)),
                os=T.OperatingSystem(type="rhel_9x64"), type=T.VmType.SERVER,
                high_availability=T.HighAvailability(enabled=True, priority=50),
                nics=[T.Nic(name="nic1", interface=T.NicInterface.VIRTIO, mac=T.Mac(address="56:6f:00:00:00:01"),
                            vnic_profile=T.VnicProfile(id="p1", name="ovirtmgmt",
                                                       network=T.Network(name="ovirtmgmt")))],
                disk_attachments=[T.DiskAttachment(interface=T.DiskInterface.VIRTIO_SCSI, bootable=True, disk=T.Disk(
                    id="d1", alias="root", provisioned_size=10 * GIB, format=T.DiskFormat.COW,
                    storage_domains=[T.StorageDomain(id="sd1", name="data-nfs")]))],
                tags=[T.Tag(name="web")],
                initialization=T.Initialization(host_name="web1", nic_configurations=[T.NicConfiguration(
                    name="eth0", ip=T.Ip(address="192.0.2.10", netmask="255.255.255.0", gateway="192.0.2.1"))]))
    base.update(kw)
    return T.Vm(**base)


def test_same_state_compares_equal():
    desired = spec.desired_from_params(params(
        memory="4GiB", memory_guaranteed="1GiB", cpu_sockets=2, high_availability=True,
        high_availability_priority=50, tags=["web"], nics=[{"name": "nic1", "profile": "ovirtmgmt"}],
        disks=[{"name": "root", "size": "10GiB", "interface": "virtio_scsi", "bootable": True}],
        cloud_init={"hostname": "web1", "nic_name": "eth0",
                    "ipv4": {"address": "192.0.2.10/24", "gateway": "192.0.2.1"}}))
    assert spec.compare(desired, spec.current_from_vm(_vm())) == {}


def test_changes_are_exact():
    desired = spec.desired_from_params(params(memory="8GiB", high_availability_priority=90,
                                              nics=[{"name": "nic2", "profile": "ovirtmgmt"}],
                                              disks=[{"name": "root", "size": "20GiB"}]))
    current = spec.current_from_vm(_vm())
    changes = spec.compare(desired, current)
    assert set(changes) == {"memory", "high_availability_priority", "nics", "disks"}
    assert changes["memory"] == (4 * GIB, 8 * GIB)
    assert changes["nics"]["nic2"][0] is None
    assert changes["disks"]["root"][1] == {"size": 20 * GIB}
    before, after = spec.diff_view(desired, current, changes)
    assert before["memory"] == 4 * GIB and after["memory"] == 8 * GIB
    assert all("id" not in d for d in before["disks"])


def test_disk_shrink_is_detected_not_compared():
    desired = spec.desired_from_params(params(disks=[{"name": "root", "size": "5GiB"}]))
    current = spec.current_from_vm(_vm())
    assert spec.compare(desired, current) == {}
    assert spec.shrinking_disks(desired, current) == [("root", 10 * GIB, 5 * GIB)]


def test_unset_fields_are_not_compared():
    assert spec.compare(spec.desired_from_params({}), spec.current_from_vm(_vm())) == {}


def test_a_disk_storage_domain_given_by_name_matches_the_id_the_engine_returns():
    """The Engine names a disk's storage domain by id only: compared with the name a user gives, every re-run
    used to send a PUT and report changed."""
    from ovirtsdk4 import types as T
    vm = _vm()
    att = T.DiskAttachment(interface=T.DiskInterface.VIRTIO_SCSI, bootable=False, disk=T.Disk(
        id="d1", alias="data", provisioned_size=2 << 30, format=T.DiskFormat.COW,
        storage_domains=[T.StorageDomain(id="sd-1")]))
    desired = spec.desired_from_params({"disks": [{"name": "data", "size": "2GiB", "storage_domain": "data-nfs"}]})
    named = spec.current_from_vm(vm, disk_attachments=[att], storage_domains={"sd-1": "data-nfs"})
    assert spec.compare(desired, named) == {}
    assert "disks" in spec.compare(desired, spec.current_from_vm(vm, disk_attachments=[att]))


@pytest.mark.parametrize("name", ["", "a" * 65, "web/1", "web 1", "web*", "we\"b"])
def test_vm_names_the_engine_refuses_are_refused_first(name):
    with pytest.raises(spec.SpecError) as err:
        spec.desired_from_params({"name": name})
    assert err.value.field == "name" and "letters, digits, '_', '-' and '.'" in str(err.value)


@pytest.mark.parametrize("name", ["web01", "db.example-1", "a" * 64, "ünïcode_vm"])
def test_vm_names_the_engine_accepts(name):
    spec.desired_from_params({"name": name})
