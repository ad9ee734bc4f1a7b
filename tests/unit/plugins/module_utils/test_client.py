# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Engine client: settings, retry classification, backoff bounds, exception translation."""

import ovirtsdk4 as sdk
import pytest

from ansible_collections.sre.ovirt.plugins.module_utils.client.connection import (
    EngineClient, EngineSettings, RetryPolicy)
from ansible_collections.sre.ovirt.plugins.module_utils.client.errors import (
    EngineAuthError, EngineBadRequest, EngineConflict, EngineNotFound, EngineSettingsError, EngineTransientError, translate)
from ansible_collections.sre.ovirt.plugins.module_utils.client.search import quote

ENV = {"OVIRT_URL": "https://env.example/ovirt-engine/api", "OVIRT_USERNAME": "env-user",
       "OVIRT_PASSWORD": "env-pw", "OVIRT_CAFILE": None, "OVIRT_INSECURE": "true"}


def test_env_is_used_when_auth_is_missing():
    s = EngineSettings.from_auth(None, env={k: v for k, v in ENV.items() if v})
    assert (s.url, s.username, s.password, s.insecure) == (ENV["OVIRT_URL"], "env-user", "env-pw", True)


def test_auth_wins_over_env_and_tls_is_verified_by_default():
    s = EngineSettings.from_auth({"url": "https://a.example/ovirt-engine/api", "username": "u", "password": "p"},
                                 env={"OVIRT_URL": "https://env.example/x"})
    assert s.url == "https://a.example/ovirt-engine/api" and s.insecure is False


@pytest.mark.parametrize("auth,field", [({}, "auth.url"), ({"url": "engine.example"}, "auth.url"),
                                        ({"url": "https://e/api", "username": "u"}, "auth"),
                                        ({"url": "https://e/api", "token": "t", "ca_file": "/nonexistent.pem"},
                                         "auth.ca_file")])
def test_bad_settings_name_the_field(auth, field):
    with pytest.raises(EngineSettingsError) as err:
        EngineSettings.from_auth(auth, env={})
    assert err.value.field == field


@pytest.mark.parametrize("method,status,error,body,verdict", [
    ("GET", 503, None, b"", "retry"),
    ("GET", 500, None, b"", "retry"),
    ("POST", 503, None, b"", "retry"),          # refused before acting
    ("POST", 500, None, b"", None),             # may have acted: final
    ("GET", None, Exception("reset"), b"", "retry"),
    ("POST", None, Exception("reset"), b"", "uncertain"),
    ("DELETE", None, Exception("reset"), b"", "uncertain"),
    ("POST", 409, None, b"<fault><detail>[Cannot run VM. VM is locked.]</detail></fault>", "retry"),
    ("POST", 409, None, b"<fault><detail>[Cannot run VM. VM is running.]</detail></fault>", None),
    ("GET", 404, None, b"", None),
    ("GET", 200, None, b"<vm/>", None),
])
def test_retry_classification(method, status, error, body, verdict):
    assert RetryPolicy.classify(method, status, error, body) == verdict


def test_backoff_is_full_jitter_and_capped():
    top = RetryPolicy(base=0.2, cap=5.0, rng=lambda: 1.0)
    bottom = RetryPolicy(base=0.2, cap=5.0, rng=lambda: 0.0)
    assert [top.delay(n) for n in (1, 2, 3, 6, 10)] == [0.2, 0.4, 0.8, 5.0, 5.0]
    assert bottom.delay(4) == 0.0


def test_translate_keeps_the_engine_detail():
    fault = sdk.types.Fault(reason="Operation Failed", detail="[Cannot remove VM. VM is running.]")
    exc = translate(sdk.Error("Fault reason is...", code=409, fault=fault))
    assert isinstance(exc, EngineConflict) and exc.code == 409
    assert "VM is running" in exc.describe()
    assert isinstance(translate(sdk.NotFoundError("x", code=404)), EngineNotFound)
    assert isinstance(translate(sdk.AuthError("bad password")), EngineAuthError)
    assert isinstance(translate(sdk.Error("Failed to read response")), EngineTransientError)
    assert isinstance(translate(sdk.Error("bad", code=400)), EngineBadRequest)


def test_quote_escapes():
    assert quote('we"b') == '"we\\"b"'


# -- the retry loop against a fake connection: what is sent, and when it is not sent again ------------------
class Answer:
    def __init__(self, code, body=b""):
        self.code, self.body = code, body


class FakeConnection:
    """Stands in for the SDK connection under ``EngineClient._complete``: scripted answers, a record of sends."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.sent = []

    def send_once(self, request):
        self.sent.append((request.method, request.path))
        return len(self.sent)

    def wait_once(self, inner):
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class Request:
    def __init__(self, method, path):
        self.method, self.path = method, path


def client(answers):
    settings = EngineSettings(url="https://engine.example/ovirt-engine/api", username="u", password="p")
    cl = EngineClient(settings, policy=RetryPolicy(attempts=4, sleep=lambda s: None))
    cl.fake = FakeConnection(answers)
    return cl


def send(cl, method, path):
    import time
    return cl._complete(cl.fake, Request(method, path), time.monotonic(), cl.fake.send_once(Request(method, path)))


def test_a_lost_create_is_looked_for_before_anything_is_sent_again():
    cl = client([sdk.Error("Failed to read response: connection reset")])
    looked = []
    out = cl.create(lambda: send(cl, "POST", "/vms"), lambda: looked.append(1) or "the vm", "VM web1")
    assert out == "the vm" and looked == [1]
    assert cl.fake.sent == [("POST", "/vms")]                       # sent once, found, never re-sent


def test_a_lost_create_that_was_not_applied_is_sent_again_once_found_missing():
    cl = client([sdk.Error("reset"), Answer(201, b"<vm/>")])
    found = []
    out = cl.create(lambda: send(cl, "POST", "/vms"), lambda: found.append("looked") or None, "VM web1")
    assert out.code == 201 and found == ["looked"] and len(cl.fake.sent) == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_5xx_on_a_create_is_uncertain_too(status):
    cl = client([Answer(status, b"<html><h1>Service Unavailable</h1></html>")])
    out = cl.create(lambda: send(cl, "POST", "/vms/1/nics"), lambda: "nic1", "NIC nic1")
    assert out == "nic1" and cl.fake.sent == [("POST", "/vms/1/nics")]


def test_a_name_in_use_conflict_converges_on_the_existing_object():
    detail = "[Cannot add VM. The VM name is already in use, please choose a unique name and try again.]"

    def add():
        raise EngineConflict("409", code=409, detail=detail)
    assert client([]).create(add, lambda: "theirs", "VM web1") == "theirs"


def test_name_in_use_is_not_a_lock_to_wait_for():
    body = b"<fault><detail>[Cannot add VM. The VM name is already in use, please choose a unique name and " \
           b"try again.]</detail></fault>"
    assert RetryPolicy.classify("POST", 409, None, body) is None


def test_a_persistent_503_names_the_status_the_url_and_the_attempts():
    cl = client([Answer(503, b"<html><body><h1>503 Service Unavailable</h1></body></html>")] * 4)
    with pytest.raises(EngineTransientError) as err:
        send(cl, "GET", "/vms")
    text = str(err.value)
    assert "HTTP 503" in text and "https://engine.example/ovirt-engine/api/vms" in text and "4 attempt" in text
    assert err.value.code == 503 and len(cl.fake.sent) == 4


def test_creates_give_up_after_the_policy_attempts_saying_so():
    cl = client([sdk.Error("reset")] * 4)
    with pytest.raises(EngineTransientError) as err:
        cl.create(lambda: send(cl, "POST", "/vms"), lambda: None, "VM web1")
    assert "VM web1: not created after 4 attempt(s)" in str(err.value) and len(cl.fake.sent) == 4


def test_searches_are_built_one_way_with_every_value_quoted():
    from ansible_collections.sre.ovirt.plugins.module_utils.client.search import all_of, any_of, of_types, where
    assert where("name", 'web "blue" 1') == 'name="web \\"blue\\" 1"'
    assert where("cluster", "Prod *") == 'cluster="Prod *"'
    assert where("type", 63) == "type=63"
    assert all_of(where("cluster", "Default"), None, where("status", "up")) == 'cluster="Default" and status="up"'
    assert of_types(17, 65) == any_of("type=17", "type=65") == "type=17 or type=65"
