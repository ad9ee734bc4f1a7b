# SPDX-License-Identifier: GPL-3.0-or-later
"""Template versions, data center quotas, disk snapshots and OVA export, as the Engine answers them."""

import os
import tarfile

import ovirtsdk4 as sdk
from ovirtsdk4 import types
import pytest

from ovirt_engine_sim.testing import poll, wait_status


def _vm(system, name, template="centos9-template", **kw):
    added = system.vms_service().add(types.Vm(name=name, cluster=types.Cluster(name="Default"),
                                              template=types.Template(name=template), memory=2**30, **kw))
    svc = system.vms_service().vm_service(added.id)
    wait_status(svc, types.VmStatus.DOWN)
    return svc


def _template(system, vm_id, name=None, base=None, version_name=None):
    version = types.TemplateVersion(base_template=types.Template(id=base), version_name=version_name) \
        if base else None
    tpl = system.templates_service().add(types.Template(name=name, vm=types.Vm(id=vm_id), version=version))
    svc = system.templates_service().template_service(tpl.id)
    return poll(svc.get, lambda t: t.status == types.TemplateStatus.OK)


def test_template_versions_share_the_name_and_number_on(system):
    """AddVmTemplateCommand: a sub-version takes its base's name and the next number; a VM added by the
    template's name gets the highest version (GetVmTemplateByVmtName orders by version desc)."""
    src = _vm(system, "ver-src01")
    base = _template(system, src.get().id, name="ver-tpl")
    assert base.version.version_number == 1 and base.version.base_template.id == base.id
    assert base.version.version_name == "base version"
    v2 = _template(system, src.get().id, name="whatever", base=base.id, version_name="second")
    assert (v2.name, v2.version.version_number, v2.version.version_name) == ("ver-tpl", 2, "second")
    assert v2.version.base_template.id == base.id
    assert sorted(t.version.version_number for t in system.templates_service().list(search="name=ver-tpl")) == [1, 2]
    vm = _vm(system, "ver-vm01", template="ver-tpl")
    assert vm.get().template.id == v2.id
    # only the base can be the base of a version; the Blank template has none
    with pytest.raises(sdk.Error) as err:
        system.templates_service().add(types.Template(vm=types.Vm(id=src.get().id), version=types.TemplateVersion(
            base_template=types.Template(id=v2.id))))
    assert err.value.code == 409 and "Only the first template version" in str(err.value)
    with pytest.raises(sdk.Error) as err:
        system.templates_service().add(types.Template(vm=types.Vm(id=src.get().id), version=types.TemplateVersion(
            base_template=types.Template(id="00000000-0000-0000-0000-000000000000"))))
    assert "Blank template can't have sub-templates" in str(err.value)
    # a sub-version keeps its base's name
    with pytest.raises(sdk.Error) as err:
        system.templates_service().template_service(v2.id).update(types.Template(name="renamed"))
    assert "Cannot update the name of Sub-Templates" in str(err.value)


def test_vm_using_the_latest_version_moves_to_a_new_one(system):
    """use_latest_template_version: the VM is made from the latest version, and when a new version is
    created a VM that is down is rebuilt from it (UpdateVmVersionCommand)."""
    src = _vm(system, "lat-src01")
    base = _template(system, src.get().id, name="lat-tpl")
    vm = _vm(system, "lat-vm01", template="lat-tpl", use_latest_template_version=True)
    assert vm.get().template.id == base.id and vm.get().use_latest_template_version is True
    v2 = _template(system, src.get().id, base=base.id, version_name="v2")
    poll(vm.get, lambda v: v.template.id == v2.id)


def test_quotas_of_a_data_center(system):
    """Every DC has a read-only Default quota; a new quota has unlimited global limits; a specific limit next to
    the global one is refused (QuotaValidator); limits are updates of the quota."""
    dc = system.data_centers_service().list(search="name=Default")[0]
    quotas = system.data_centers_service().data_center_service(dc.id).quotas_service()
    default = [q for q in quotas.list() if q.name == "Default"]
    assert len(default) == 1 and default[0].description == "Default unlimited quota"
    with pytest.raises(sdk.Error) as err:
        quotas.quota_service(default[0].id).remove()
    assert err.value.code == 409 and "Default quota cannot be changed" in str(err.value)
    with pytest.raises(sdk.Error) as err:
        quotas.add(types.Quota(description="no name"))
    assert err.value.code == 400
    q = quotas.add(types.Quota(name="q1", cluster_hard_limit_pct=30))
    assert (q.cluster_hard_limit_pct, q.cluster_soft_limit_pct, q.storage_hard_limit_pct) == (30, 80, 20)
    with pytest.raises(sdk.Error) as err:
        quotas.add(types.Quota(name="q1"))
    assert err.value.code == 409
    storage = quotas.quota_service(q.id).quota_storage_limits_service()
    assert [(lim.id, lim.limit) for lim in storage.list()] == [(q.id, -1)]
    sd = system.storage_domains_service().list(search="name=data-nfs")[0]
    with pytest.raises(sdk.Error) as err:
        storage.add(types.QuotaStorageLimit(limit=10, storage_domain=types.StorageDomain(id=sd.id)))
    assert err.value.code == 409 and "specific and general" in str(err.value)
    storage.limit_service(q.id).remove()    # an empty quota gets its unlimited global limit back
    assert [(lim.id, lim.limit) for lim in storage.list()] == [(q.id, -1)]
    assert storage.add(types.QuotaStorageLimit(limit=500)).limit == 500
    clusters = quotas.quota_service(q.id).quota_cluster_limits_service()
    clusters.add(types.QuotaClusterLimit(vcpu_limit=20, memory_limit=10.5))
    assert [(lim.vcpu_limit, lim.memory_limit) for lim in clusters.list()] == [(20, 10.5)]
    quotas.quota_service(q.id).update(types.Quota(description="changed"))
    assert quotas.quota_service(q.id).get().description == "changed"
    quotas.quota_service(q.id).remove()
    assert [x.name for x in quotas.list()] == ["Default"]


def test_disk_snapshots_form_a_chain(system):
    vm = _vm(system, "dsn-vm01")
    disk_id = vm.disk_attachments_service().list()[0].disk.id
    snap = vm.snapshots_service().add(types.Snapshot(description="s1"))
    poll(vm.snapshots_service().snapshot_service(snap.id).get,
         lambda s: s.snapshot_status == types.SnapshotStatus.OK)
    svc = system.disks_service().disk_service(disk_id).disk_snapshots_service()
    frozen = svc.list()
    assert len(frozen) == 1 and frozen[0].snapshot.id == snap.id and frozen[0].parent is None
    chain = svc.list(include_active=True)
    assert len(chain) == 2 and chain[1].parent.id == chain[0].id


def test_export_vm_and_template_as_ova(engine_sim, system):
    """ExportVmToOva / ExportVmTemplateToOva: a job; the OVA (OVF first, then the disks) lands in the
    directory on the host (the state dir's hosts/<host>/...)."""
    vm = _vm(system, "ova-vm01")
    host = system.hosts_service().list(search="name=host01")[0]
    with pytest.raises(sdk.Error) as err:
        vm.export_to_path_on_host(host=types.Host(name="nosuchhost"), directory="/tmp", filename="x.ova")
    assert err.value.code == 404
    vm.export_to_path_on_host(host=types.Host(id=host.id), directory="/var/tmp/", filename="ova-vm01.ova")
    path = os.path.join(engine_sim.state_dir, "hosts", "host01", "var", "tmp", "ova-vm01.ova")
    poll(lambda: os.path.exists(path), bool)
    with tarfile.open(path) as tar:
        names = tar.getnames()
    assert names[0] == "vm.ovf" and len(names) == 2
    events = poll(lambda: system.events_service().list(search="type=1224"), bool)
    assert "ova-vm01" in events[0].description and "/var/tmp/ova-vm01.ova" in events[0].description
    tpl = system.templates_service().list(search="name=centos9-template")[0]
    system.templates_service().template_service(tpl.id).export_to_path_on_host(
        host=types.Host(id=host.id), directory="/tmp")
    tpath = os.path.join(engine_sim.state_dir, "hosts", "host01", "tmp", "centos9-template.ova")
    poll(lambda: os.path.exists(tpath), bool)
    with tarfile.open(tpath) as tar:
        assert tar.getnames()[0] == "template.ovf"
