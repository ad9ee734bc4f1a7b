# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""EngineSettings.from_auth reads the ini file AWX's Red Hat Virtualization credential writes (OVIRT_INI_PATH)."""

import pytest

from ansible_collections.sre.ovirt.plugins.module_utils.client.connection import EngineSettings, read_ini
from ansible_collections.sre.ovirt.plugins.module_utils.client.errors import EngineSettingsError


def awx_ini(host, username, password, ca_file=""):
    """What AWX renders from the credential type's file injector: lines joined with \\n, the CA line empty when
    the credential's CA File is, and no newline at the end (awx/main/models/credential: ManagedCredentialType
    rhv)."""
    return "\n".join(["[ovirt]", "ovirt_url=%s" % host, "ovirt_username=%s" % username,
                      "ovirt_password=%s" % password, "ovirt_ca_file=%s" % ca_file if ca_file else ""])


@pytest.fixture
def ca(tmp_path):
    path = tmp_path / "engine-ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    return str(path)


def write(tmp_path, text, name="awx.ini"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


AWX_ENV = {"OVIRT_URL": "https://engine.example/ovirt-engine/api", "OVIRT_USERNAME": "awx@internal",
           "OVIRT_PASSWORD": "pw"}


def test_awx_environment_takes_the_ca_from_the_ini(tmp_path, ca):
    ini = write(tmp_path, awx_ini(AWX_ENV["OVIRT_URL"], "awx@internal", "pw", ca))
    s = EngineSettings.from_auth(None, env=dict(AWX_ENV, OVIRT_INI_PATH=ini))
    assert (s.url, s.username, s.password, s.ca_file, s.insecure) == (AWX_ENV["OVIRT_URL"], "awx@internal", "pw",
                                                                      ca, False)
    assert s.ca_source == "ovirt_ca_file in OVIRT_INI_PATH=%s" % ini


def test_without_a_ca_line_tls_stays_verified_with_the_system_store(tmp_path):
    ini = write(tmp_path, awx_ini(AWX_ENV["OVIRT_URL"], "awx@internal", "pw"))
    s = EngineSettings.from_auth(None, env=dict(AWX_ENV, OVIRT_INI_PATH=ini))
    assert s.ca_file is None and s.insecure is False


def test_the_ini_alone_is_enough_and_a_password_may_hold_percent_and_equals(tmp_path, ca):
    ini = write(tmp_path, awx_ini("https://ini.example/ovirt-engine/api", "ini@internal", "p%w=rd;#x", ca))
    s = EngineSettings.from_auth(None, env={"OVIRT_INI_PATH": ini})
    assert (s.url, s.username, s.password, s.ca_file) == ("https://ini.example/ovirt-engine/api", "ini@internal",
                                                          "p%w=rd;#x", ca)


def test_auth_then_environment_win_over_the_ini(tmp_path, ca):
    other = str(tmp_path / "other.pem")
    with open(other, "w") as f:
        f.write("x")
    ini = write(tmp_path, awx_ini("https://ini.example/api", "ini-user", "ini-pw", ca) + "\novirt_insecure=true")
    env = {"OVIRT_INI_PATH": ini, "OVIRT_URL": "https://env.example/api", "OVIRT_CAFILE": other,
           "OVIRT_INSECURE": "false"}
    s = EngineSettings.from_auth({"username": "auth-user", "password": "auth-pw"}, env=env)
    assert (s.url, s.username, s.password, s.ca_file, s.insecure) == ("https://env.example/api", "auth-user",
                                                                      "auth-pw", other, False)
    assert s.ca_source == "OVIRT_CAFILE"
    s = EngineSettings.from_auth({"ca_file": other, "url": "https://a.example/api", "token": "t"},
                                 env={"OVIRT_INI_PATH": ini})
    assert (s.ca_file, s.ca_source, s.url, s.insecure) == (other, "auth.ca_file", "https://a.example/api", True)


def test_empty_values_fall_through_to_the_ini(tmp_path, ca):
    """module_defaults may render an unset variable as "": that is "not set", not "no CA"."""
    ini = write(tmp_path, awx_ini(AWX_ENV["OVIRT_URL"], "awx@internal", "pw", ca))
    s = EngineSettings.from_auth({"ca_file": ""}, env=dict(AWX_ENV, OVIRT_INI_PATH=ini, OVIRT_CAFILE=""))
    assert s.ca_file == ca


def test_a_token_fact_carries_its_ca_and_the_ini_fills_nothing_else(tmp_path, ca):
    """The fact sre.ovirt.auth returns (url, token, ca_file, insecure, timeout) is complete without the ini."""
    ini = write(tmp_path, awx_ini("https://ini.example/api", "ini-user", "ini-pw", ca))
    fact = {"url": "https://fact.example/api", "token": "tok", "ca_file": ca, "insecure": False, "timeout": 60}
    s = EngineSettings.from_auth(fact, env={"OVIRT_INI_PATH": ini})
    assert (s.url, s.token, s.ca_file, s.insecure) == ("https://fact.example/api", "tok", ca, False)


def test_a_missing_ini_names_the_variable(tmp_path):
    with pytest.raises(EngineSettingsError) as err:
        EngineSettings.from_auth(None, env=dict(AWX_ENV, OVIRT_INI_PATH=str(tmp_path / "gone.ini")))
    assert err.value.field == "OVIRT_INI_PATH" and "gone.ini" in str(err.value)


def test_a_missing_ca_named_by_the_ini_names_the_ini(tmp_path):
    ini = write(tmp_path, awx_ini(AWX_ENV["OVIRT_URL"], "u", "p", "/nonexistent/ca.pem"))
    with pytest.raises(EngineSettingsError) as err:
        EngineSettings.from_auth(None, env=dict(AWX_ENV, OVIRT_INI_PATH=ini))
    assert err.value.field == "OVIRT_INI_PATH"
    assert "ovirt_ca_file" in str(err.value) and "/nonexistent/ca.pem" in str(err.value)


def test_not_an_ini_and_no_ovirt_section(tmp_path):
    with pytest.raises(EngineSettingsError) as err:
        EngineSettings.from_auth(None, env=dict(AWX_ENV, OVIRT_INI_PATH=write(tmp_path, "ovirt_url=x\n")))
    assert err.value.field == "OVIRT_INI_PATH"
    assert read_ini(write(tmp_path, "[other]\novirt_url=x\n", "other.ini")) == {}
