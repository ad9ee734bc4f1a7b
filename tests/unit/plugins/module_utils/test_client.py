# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine client: settings, retry classification, backoff bounds, exception translation."""

import ovirtsdk4 as sdk
import pytest

from ansible_collections.sre.ovirt.plugins.module_utils import _client as c

ENV = {"OVIRT_URL": "https://env.example/ovirt-engine/api", "OVIRT_USERNAME": "env-user",
       "OVIRT_PASSWORD": "env-pw", "OVIRT_CAFILE": None, "OVIRT_INSECURE": "true"}


def test_env_is_used_when_auth_is_missing():
    s = c.EngineSettings.from_auth(None, env={k: v for k, v in ENV.items() if v})
    assert (s.url, s.username, s.password, s.insecure) == (ENV["OVIRT_URL"], "env-user", "env-pw", True)


def test_auth_wins_over_env_and_tls_is_verified_by_default():
    s = c.EngineSettings.from_auth({"url": "https://a.example/ovirt-engine/api", "username": "u", "password": "p"},
                                   env={"OVIRT_URL": "https://env.example/x"})
    assert s.url == "https://a.example/ovirt-engine/api" and s.insecure is False


@pytest.mark.parametrize("auth,field", [({}, "auth.url"), ({"url": "engine.example"}, "auth.url"),
                                        ({"url": "https://e/api", "username": "u"}, "auth"),
                                        ({"url": "https://e/api", "token": "t", "ca_file": "/nonexistent.pem"},
                                         "auth.ca_file")])
def test_bad_settings_name_the_field(auth, field):
    with pytest.raises(c.EngineSettingsError) as err:
        c.EngineSettings.from_auth(auth, env={})
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
    assert c.RetryPolicy.classify(method, status, error, body) == verdict


def test_backoff_is_full_jitter_and_capped():
    top = c.RetryPolicy(base=0.2, cap=5.0, rng=lambda: 1.0)
    bottom = c.RetryPolicy(base=0.2, cap=5.0, rng=lambda: 0.0)
    assert [top.delay(n) for n in (1, 2, 3, 6, 10)] == [0.2, 0.4, 0.8, 5.0, 5.0]
    assert bottom.delay(4) == 0.0


def test_translate_keeps_the_engine_detail():
    fault = sdk.types.Fault(reason="Operation Failed", detail="[Cannot remove VM. VM is running.]")
    exc = c.translate(sdk.Error("Fault reason is...", code=409, fault=fault))
    assert isinstance(exc, c.EngineConflict) and exc.code == 409
    assert "VM is running" in exc.describe()
    assert isinstance(c.translate(sdk.NotFoundError("x", code=404)), c.EngineNotFound)
    assert isinstance(c.translate(sdk.AuthError("bad password")), c.EngineAuthError)
    assert isinstance(c.translate(sdk.Error("Failed to read response")), c.EngineTransientError)
    assert isinstance(c.translate(sdk.Error("bad", code=400)), c.EngineBadRequest)


def test_quote_escapes():
    assert c.quote('we"b') == '"we\\"b"'
