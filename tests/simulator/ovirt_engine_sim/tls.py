# SPDX-License-Identifier: GPL-3.0-or-later
"""CA and server certificate, generated once into the state directory and reused on restart."""

import os
import ssl

import trustme


def load_or_create(state_dir, hostnames=("127.0.0.1", "localhost", "::1")):
    """Return an SSLContext for the server; write ``ca.pem`` for clients on first use."""
    ca_cert = os.path.join(state_dir, "ca.pem")
    ca_key = os.path.join(state_dir, "ca.key")
    srv_cert = os.path.join(state_dir, "server.pem")
    srv_key = os.path.join(state_dir, "server.key")
    if os.path.exists(ca_cert) and os.path.exists(ca_key):
        with open(ca_cert, "rb") as c, open(ca_key, "rb") as k:
            ca = trustme.CA.from_pem(c.read(), k.read())
    else:
        ca = trustme.CA(organization_name="ovirt-engine-sim")
        _write(ca_key, ca.private_key_pem.bytes(), 0o600)
        _write(ca_cert, ca.cert_pem.bytes(), 0o644)
    if not (os.path.exists(srv_cert) and os.path.exists(srv_key)):
        leaf = ca.issue_cert(*hostnames, common_name="ovirt-engine-sim")
        _write(srv_key, leaf.private_key_pem.bytes(), 0o600)
        _write(srv_cert, b"".join(p.bytes() for p in leaf.cert_chain_pems), 0o644)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(srv_cert, srv_key)
    return ctx, ca_cert


def _write(path, data, mode):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
