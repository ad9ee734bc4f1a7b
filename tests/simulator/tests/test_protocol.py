# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTTP protocol as clients other than the SDK see it: JSON, versions, sessions, headers, redirects."""

import http.client
import json
import socket
import ssl
import urllib.parse

import ovirtsdk4 as sdk
from ovirtsdk4 import types
import pytest


class Raw:
    """A plain HTTPS client speaking to the simulator the way curl or Ansible's ``uri`` would."""

    def __init__(self, sim):
        self.sim = sim
        parts = urllib.parse.urlsplit(sim.url)
        self.host, self.port = parts.hostname, parts.port
        self.ctx = ssl.create_default_context(cafile=sim.ca_file)
        self.token = sim.connection().authenticate()

    def request(self, method, path, body=None, headers=None, auth=True):
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=30)
        hdrs = {"Accept": "application/json"}
        if auth:
            hdrs["Authorization"] = "Bearer %s" % self.token
        hdrs.update(headers or {})
        if isinstance(body, dict):
            body = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp, data


@pytest.fixture(scope="module")
def raw(engine_sim):
    return Raw(engine_sim)


def test_json_answers_in_the_engine_shape(raw):
    resp, data = raw.request("GET", "/ovirt-engine/api/hosts?search=name%3Dhost01")
    assert resp.status == 200 and resp.getheader("Content-Type").startswith("application/json")
    doc = json.loads(data)
    host = doc["host"][0]                      # collections: {"host": [...]}
    assert host["name"] == "host01" and host["status"] == "up"
    assert isinstance(host["memory"], int)     # numbers are numbers
    assert host["cluster"]["href"].startswith("/ovirt-engine/api/clusters/")
    assert any(link["rel"] == "nics" for link in host["link"])   # sub-collections are links
    resp, data = raw.request("GET", "/ovirt-engine/api/vms?search=name%3Dnothing-like-this")
    assert json.loads(data) == {}


def test_json_request_body_adds_and_faults_come_back_as_json(raw):
    resp, data = raw.request("POST", "/ovirt-engine/api/tags", {"name": "json-tag", "description": "from JSON"})
    assert resp.status == 201, data
    tag = json.loads(data)
    assert tag["name"] == "json-tag" and tag["href"] == "/ovirt-engine/api/tags/%s" % tag["id"]
    resp, data = raw.request("POST", "/ovirt-engine/api/tags", {"name": "json-tag"})
    assert resp.status == 409
    assert "already in use" in json.loads(data)["detail"]


def test_v4_in_the_path_is_the_api_and_links_keep_it(raw):
    resp, data = raw.request("GET", "/ovirt-engine/api/v4/clusters")
    assert resp.status == 200
    cluster = json.loads(data)["cluster"][0]
    assert cluster["href"].startswith("/ovirt-engine/api/v4/clusters/")
    resp, data = raw.request("GET", cluster["href"], headers={"Accept": "application/xml"})
    assert resp.status == 200 and b"<cluster " in data


def test_version_header_other_than_4_is_refused(raw):
    assert raw.request("GET", "/ovirt-engine/api", headers={"Version": "3"})[0].status == 400
    assert raw.request("GET", "/ovirt-engine/api/v3/vms")[0].status == 400
    assert raw.request("GET", "/ovirt-engine/api", headers={"Version": "4"})[0].status == 200


def test_head_and_health(raw):
    resp, data = raw.request("HEAD", "/ovirt-engine/api/vms")
    assert resp.status == 200 and data == b""
    resp, data = raw.request("GET", "/ovirt-engine/services/health", auth=False)
    assert resp.status == 200 and data == b"DB Up!Welcome to Health Status!"


def test_unknown_sub_collection_is_404(raw, engine_sim):
    hid = json.loads(raw.request("GET", "/ovirt-engine/api/hosts")[1])["host"][0]["id"]
    assert raw.request("GET", "/ovirt-engine/api/hosts/%s/nosuchthing" % hid)[0].status == 404


def test_persistent_auth_session_cookie(raw):
    resp, data = raw.request("GET", "/ovirt-engine/api", headers={"Prefer": "persistent-auth"})
    assert resp.status == 200
    cookie = resp.getheader("Set-Cookie")
    assert cookie and cookie.startswith("JSESSIONID=")
    session = cookie.split(";")[0]
    # the session alone authenticates while the client keeps asking for persistence
    resp, data = raw.request("GET", "/ovirt-engine/api/vms", auth=False,
                             headers={"Cookie": session, "Prefer": "persistent-auth"})
    assert resp.status == 200
    # a request without ``Prefer: persistent-auth`` ends the session
    assert raw.request("GET", "/ovirt-engine/api/vms", auth=False, headers={"Cookie": session})[0].status == 401
    assert raw.request("GET", "/ovirt-engine/api/vms", auth=False,
                       headers={"Cookie": session, "Prefer": "persistent-auth"})[0].status == 401


def test_correlation_id_reaches_events_and_jobs(engine_sim):
    conn = engine_sim.connection()
    try:
        system = conn.system_service()
        vms = system.vms_service()
        vm = vms.add(types.Vm(name="corr-vm", cluster=types.Cluster(name="Default"),
                              template=types.Template(name="Blank"), memory=1 << 30),
                     headers={"Correlation-Id": "corr-add-1"})
        events = system.events_service().list(search="correlation_id=corr-add-1")
        assert events and all(e.correlation_id == "corr-add-1" for e in events)
        assert vm.id in {e.vm.id for e in events if e.vm}
        ext = system.jobs_service().add(types.Job(description="tracked", external=True),
                                        headers={"Correlation-Id": "corr-job-1"})
        found = system.jobs_service().list(search="correlation_id=corr-job-1")
        assert [j.id for j in found] == [ext.id]
    finally:
        conn.close()


def test_expect_201_created_waits_for_the_add_to_finish(engine_sim):
    conn = engine_sim.connection()
    try:
        vms = conn.system_service().vms_service()
        quick = vms.add(types.Vm(name="locked-vm", cluster=types.Cluster(name="Default"),
                                 template=types.Template(name="centos9-template")))
        assert quick.status == types.VmStatus.IMAGE_LOCKED
        done = vms.add(types.Vm(name="waited-vm", cluster=types.Cluster(name="Default"),
                                template=types.Template(name="centos9-template")),
                       headers={"Expect": "201-created"})
        assert done.status == types.VmStatus.DOWN
    finally:
        conn.close()


def test_remove_with_async_is_accepted_without_a_body(raw):
    resp, data = raw.request("POST", "/ovirt-engine/api/tags", {"name": "async-gone"})
    tid = json.loads(data)["id"]
    resp, data = raw.request("DELETE", "/ovirt-engine/api/tags/%s?async=true" % tid)
    assert resp.status == 202 and data == b""
    assert raw.request("GET", "/ovirt-engine/api/tags/%s" % tid)[0].status == 404


def test_plain_http_on_the_https_port_is_redirected(raw):
    with socket.create_connection((raw.host, raw.port), timeout=10) as s:
        s.sendall(b"GET /ovirt-engine/api HTTP/1.1\r\nHost: engine.example.test:%d\r\n\r\n" % raw.port)
        answer = s.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 302")
    assert "Location: https://engine.example.test:%d/ovirt-engine/api\r\n" % raw.port in answer


def test_external_jobs_and_steps(engine_sim):
    conn = engine_sim.connection()
    try:
        jobs = conn.system_service().jobs_service()
        with pytest.raises(sdk.Error) as err:
            jobs.add(types.Job())
        assert err.value.code == 400 and "Job [description] required for add" in str(err.value)
        job = jobs.add(types.Job(description="maintenance window", auto_cleared=False))
        assert job.external and job.status == types.JobStatus.STARTED and job.auto_cleared is False
        steps = jobs.job_service(job.id).steps_service()
        step = steps.add(types.Step(description="drain", type=types.StepEnum.EXECUTING))
        assert step.external and step.status == types.StepStatus.STARTED
        steps.step_service(step.id).end(succeeded=False)   # a failed step fails its job
        assert jobs.job_service(job.id).get().status == types.JobStatus.FAILED
        jobs.job_service(job.id).clear()
        assert jobs.job_service(job.id).get().auto_cleared is True
        # the Engine's own jobs are not external: ending them is refused
        internal = [j for j in jobs.list() if not j.external]
        if internal:
            with pytest.raises(sdk.Error) as err:
                jobs.job_service(internal[0].id).end()
            assert err.value.code == 400 and "External" in str(err.value)
    finally:
        conn.close()


def test_finished_auto_cleared_jobs_are_cleaned_up(engine_sim):
    conn = engine_sim.connection()
    try:
        jobs = conn.system_service().jobs_service()
        kept = jobs.add(types.Job(description="kept", auto_cleared=False))
        gone = jobs.add(types.Job(description="cleared", auto_cleared=True))
        jobs.job_service(kept.id).end()
        jobs.job_service(gone.id).end()
        assert {kept.id, gone.id} <= {j.id for j in jobs.list()}
        engine_sim.advance(11 * 60)   # SucceededJobCleanupTimeInMinutes = 10
        ids = {j.id for j in jobs.list()}
        assert kept.id in ids and gone.id not in ids
    finally:
        conn.close()
