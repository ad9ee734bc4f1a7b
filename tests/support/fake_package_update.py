# SPDX-License-Identifier: GPL-3.0-or-later
"""Stands in for ``dnf -y upgrade`` on a hypervisor in the package-method drill: records the host's status in
the simulator at the moment the update runs, then tells the simulator the host's packages are current (so the
Engine's next update check finds nothing). Usage: fake_package_update.py ADMIN_URL LOG (env SIM_AUTH,
SIM_CA_FILE, and ROLLING_PATCH_HOST set by the role)."""

import json
import os
import ssl
import sys
import urllib.request


def call(url, method="GET", body=None):
    ctx = ssl.create_default_context(cafile=os.environ["SIM_CA_FILE"])
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None, method=method,
                                 headers={"Authorization": os.environ["SIM_AUTH"], "Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def main(admin_url, log):
    host = os.environ["ROLLING_PATCH_HOST"]
    status = [h["status"] for h in call(admin_url + "/state")["hosts"] if h["name"] == host][0]
    with open(log, "a") as f:
        f.write("%s %s\n" % (host, status))
    call(admin_url + "/hosts/" + host, "POST", {"update_available": False})


if __name__ == "__main__":
    main(*sys.argv[1:3])
