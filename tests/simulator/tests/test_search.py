# SPDX-License-Identifier: GPL-3.0-or-later
"""The Engine search language as the SDK sends it (``search=``, ``case_sensitive``, ``max``)."""

import ovirtsdk4 as sdk
from ovirtsdk4 import types
import pytest

from ovirt_engine_sim.testing import wait_status


@pytest.fixture(scope="module")
def fleet(system):
    """web01..web03 (web01 up on host01), DB-01, db02 (down)."""
    vms = system.vms_service()
    made = {}
    for name, desc in (("web01", "front end"), ("web02", "front end"), ("web03", "front end"),
                       ("DB-01", "primary database"), ("db02", "replica")):
        made[name] = vms.add(types.Vm(name=name, description=desc, cluster=types.Cluster(name="Default"),
                                      template=types.Template(name="centos9-template")))
    for vm in made.values():
        wait_status(vms.vm_service(vm.id), types.VmStatus.DOWN)
    host01 = system.hosts_service().list(search="name=host01")[0]
    vms.vm_service(made["web01"].id).start(vm=types.Vm(placement_policy=types.VmPlacementPolicy(
        hosts=[types.Host(id=host01.id)])))
    wait_status(vms.vm_service(made["web01"].id), types.VmStatus.UP)
    return made


def names(vms, **kw):
    return sorted(v.name for v in vms.list(**kw))


def test_name_wildcards_quotes_and_or(system, fleet):
    vms = system.vms_service()
    assert names(vms, search="name=web*") == ["web01", "web02", "web03"]
    assert names(vms, search='name="web02"') == ["web02"]
    assert names(vms, search="name=web01 or name=db02") == ["db02", "web01"]
    assert names(vms, search="name=web* and status=up") == ["web01"]
    assert names(vms, search='description="front end" and name!=web02') == ["web01", "web03"]
    assert names(vms, search="name=nothing*") == []


def test_case_sensitivity(system, fleet):
    vms = system.vms_service()
    assert names(vms, search="name=db*") == ["db02"]
    assert names(vms, search="name=db*", case_sensitive=False) == ["DB-01", "db02"]


def test_backend_status_names_and_references(system, fleet):
    vms = system.vms_service()
    assert "web01" in names(vms, search="status=up")
    assert "web01" not in names(vms, search="status=down")
    assert names(vms, search="host=host01 and name=web*") == ["web01"]
    assert set(names(vms, search="cluster=Default")) >= {"web01", "db02"}
    web02 = fleet["web02"]
    assert names(vms, search="id=%s" % web02.id) == ["web02"]
    hosts = system.hosts_service()
    assert names(hosts, search="status=up") == ["host01", "host02", "host03"]
    assert names(hosts, search="cluster=Default and name=host0*") == ["host01", "host02", "host03"]


def test_sortby_and_page(system, fleet):
    vms = system.vms_service()
    desc = [v.name for v in vms.list(search="name=web* sortby name desc")]
    assert desc == ["web03", "web02", "web01"]
    page1 = [v.name for v in vms.list(search="name=web* sortby name asc page 1", max=2)]
    page2 = [v.name for v in vms.list(search="name=web* sortby name asc page 2", max=2)]
    page3 = [v.name for v in vms.list(search="name=web* sortby name asc page 3", max=2)]
    assert (page1, page2, page3) == (["web01", "web02"], ["web03"], [])


def test_bad_query_is_400(system):
    with pytest.raises(sdk.Error) as err:
        system.vms_service().list(search="name=(web")
    assert err.value.code == 400


def test_events_max_from_and_type(system, fleet):
    events = system.events_service()
    last = events.list(max=1)
    assert len(last) == 1
    last_id = int(last[0].id)
    # Newest first, and max=1 is the newest event.
    everything = events.list()
    assert int(everything[0].id) == last_id
    assert [int(e.id) for e in everything] == sorted((int(e.id) for e in everything), reverse=True)
    vm = system.vms_service().vm_service(fleet["web02"].id)
    vm.start()
    wait_status(vm, types.VmStatus.UP)
    newer = events.list(from_=last_id)
    assert newer and all(int(e.id) > last_id for e in newer)
    codes = {e.code for e in newer}
    assert 153 in codes, codes
    started = events.list(search="type=153")
    assert started and all(e.code == 153 for e in started)
    assert any(e.vm is not None and e.vm.id == fleet["web02"].id for e in started)
