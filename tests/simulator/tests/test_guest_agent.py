# SPDX-License-Identifier: GPL-3.0-or-later
"""What a running guest's agent reports through the Engine: reported devices with the guest's addresses (the VM's
and each vNIC's, also embedded with ``follow``) and the FQDN; nothing while the VM is down or has no agent."""

import ipaddress

from ovirtsdk4 import types

from ovirt_engine_sim.testing import wait_status


def _addresses(devices):
    return [(d.name, d.mac.address, [(ip.address, ip.version) for ip in d.ips]) for d in devices]


def test_running_guest_reports_its_addresses_and_fqdn(engine_sim, system):
    vms = system.vms_service()
    added = vms.add(types.Vm(name="ga01", cluster=types.Cluster(name="Default"),
                             template=types.Template(name="centos9-template")))
    svc = vms.vm_service(added.id)
    wait_status(svc, types.VmStatus.DOWN)
    assert svc.reported_devices_service().list() == [] and svc.get().fqdn is None

    svc.start()
    wait_status(svc, types.VmStatus.UP)
    nic = svc.nics_service().list()[0]
    devices = svc.reported_devices_service().list()
    (name, mac, ips), = _addresses(devices)
    assert (name, mac) == (nic.name, nic.mac.address)
    (v4, ver4), (v6, ver6) = ips
    assert (ver4, ver6) == (types.IpVersion.V4, types.IpVersion.V6)
    assert ipaddress.ip_address(v4) in ipaddress.ip_network("198.18.0.0/15")
    assert ipaddress.ip_address(v6) in ipaddress.ip_network("2001:db8::/64")
    assert devices[0].type == types.ReportedDeviceType.NETWORK
    assert _addresses(svc.nics_service().nic_service(nic.id).reported_devices_service().list()) == _addresses(devices)
    assert svc.get().fqdn == "ga01.example.test"

    # One list request brings every VM's tags and reported devices along.
    listed = vms.list(search="name=ga01", follow="tags,reported_devices,nics.reported_devices")
    assert _addresses(listed[0].reported_devices) == _addresses(devices)
    assert _addresses(listed[0].nics[0].reported_devices) == _addresses(devices)

    # A second VM's guest has other addresses.
    other = vms.add(types.Vm(name="ga02", cluster=types.Cluster(name="Default"),
                             template=types.Template(name="centos9-template")))
    osvc = vms.vm_service(other.id)
    wait_status(osvc, types.VmStatus.DOWN)
    osvc.start()
    wait_status(osvc, types.VmStatus.UP)
    assert _addresses(osvc.reported_devices_service().list())[0][2][0][0] != v4

    # A guest without an agent reports nothing; stopped, nothing either.
    engine_sim.admin("POST", "vms/ga02", {"guest_agent": False})
    assert osvc.reported_devices_service().list() == [] and osvc.get().fqdn is None
    svc.stop()
    wait_status(svc, types.VmStatus.DOWN)
    assert svc.reported_devices_service().list() == [] and svc.get().fqdn is None
