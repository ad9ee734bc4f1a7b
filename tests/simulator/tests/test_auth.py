# SPDX-License-Identifier: GPL-3.0-or-later
"""Log-in, TLS and tokens, as the SDK sees them."""

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request

import ovirtsdk4 as sdk
import pytest


def test_login_with_ca_file_and_api_root(engine_sim):
    conn = engine_sim.connection()
    try:
        assert conn.test(raise_exception=True)
        api = conn.system_service().get()
        assert api.product_info.name.startswith("oVirt Engine")
        assert api.product_info.version.major == 4
        assert api.summary.vms.total >= 0
        assert api.summary.hosts.total == 3
        assert conn.authenticate()  # token obtained once and reused
    finally:
        conn.close()


def test_bad_password_is_auth_error_with_engine_json(engine_sim):
    conn = engine_sim.connection(password="wrong")
    with pytest.raises(sdk.AuthError) as err:
        conn.system_service().get()
    assert "access_denied" in str(err.value) or "Cannot authenticate" in str(err.value)
    # The SSO endpoint answers with the Engine's JSON error body.
    ctx = ssl.create_default_context(cafile=engine_sim.ca_file)
    form = urllib.parse.urlencode({"grant_type": "password", "scope": "ovirt-app-api",
                                   "username": engine_sim.username, "password": "wrong"}).encode()
    url = engine_sim.url.replace("/api", "/sso/oauth/token")
    req = urllib.request.Request(url, data=form, headers={"Accept": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as http:
        urllib.request.urlopen(req, context=ctx, timeout=10)
    body = json.loads(http.value.read())
    assert body["error_code"] == "access_denied"
    assert "authenticate" in body["error"].lower()


def test_tls_is_verified_against_the_ca(engine_sim, tmp_path):
    other_ca = tmp_path / "other-ca.pem"
    import trustme
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    conn = engine_sim.connection(ca_file=str(other_ca))
    with pytest.raises(sdk.Error) as err:
        conn.system_service().get()
    assert "SSL certificate" in str(err.value)
    insecure = engine_sim.connection(ca_file=None, insecure=True)
    assert insecure.system_service().get().product_info.name.startswith("oVirt Engine")
    insecure.close()


def test_token_reuse_across_connections_and_logout(engine_sim):
    first = engine_sim.connection()
    token = first.authenticate()
    reused = sdk.Connection(url=engine_sim.url, token=token, ca_file=engine_sim.ca_file)
    assert reused.system_service().hosts_service().list(max=1)
    before = len([r for r in engine_sim.requests() if r["path"].endswith("/sso/oauth/token")])
    reused.system_service().vms_service().list(max=1)
    after = len([r for r in engine_sim.requests() if r["path"].endswith("/sso/oauth/token")])
    assert after == before, "a connection with a token must not log in again"
    first.close(logout=True)  # revokes the token
    with pytest.raises(sdk.Error) as err:
        reused.system_service().hosts_service().list(max=1)
    assert "401" in str(err.value) or isinstance(err.value, sdk.AuthError)
    reused.close(logout=False)


def test_admin_api_requires_credentials(engine_sim):
    ctx = ssl.create_default_context(cafile=engine_sim.ca_file)
    with pytest.raises(urllib.error.HTTPError) as http:
        urllib.request.urlopen(engine_sim.admin_url + "/requests", context=ctx, timeout=10)
    assert http.value.code == 401
