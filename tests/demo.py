# SPDX-License-Identifier: GPL-3.0-or-later
"""`make demo`: start the embedded Engine simulator, run playbooks/create_vm.yml, show what exists."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ovirt_engine_sim.testing import start_simulator  # noqa: E402
from tests.support.collection import REPO, ansible_env  # noqa: E402


def table(conn):
    system = conn.system_service()
    hosts = {h.id: h.name for h in system.hosts_service().list()}
    rows = [("VM", "STATUS", "HOST", "MEMORY", "vCPU", "HA (priority)", "DISKS", "NICS")]
    for vm in system.vms_service().list(follow="disk_attachments,nics"):
        topo = vm.cpu.topology
        ha = vm.high_availability
        rows.append((vm.name, vm.status.value, hosts.get(vm.host.id, "-") if vm.host else "-",
                     "%d MiB" % (vm.memory // 2**20), str(topo.sockets * topo.cores * topo.threads),
                     "yes (%d)" % ha.priority if ha and ha.enabled else "no",
                     str(len(vm.disk_attachments or [])), str(len(vm.nics or []))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)


def main():
    state = tempfile.mkdtemp(prefix="sre-ovirt-demo-")
    try:
        started = time.monotonic()
        with start_simulator(state, time_scale=0.02) as sim:
            print("Engine simulator: %s (CA %s)" % (sim.url, sim.ca_file))
            playbook = os.path.join(REPO, "playbooks", "create_vm.yml")
            cmd = [os.path.join(REPO, ".venv", "bin", "ansible-playbook"), playbook,
                   "-e", "@" + os.path.join(REPO, "playbooks", "vars", "demo.yml")]
            print("$ " + " ".join(os.path.relpath(c, REPO) if c.startswith(REPO) else c for c in cmd), flush=True)
            rc = subprocess.call(cmd, env=ansible_env(sim), cwd=REPO)
            if rc != 0:
                print("ansible-playbook failed with exit code %d" % rc, file=sys.stderr)
                return rc
            mutating = len(sim.mutating_requests())
            conn = sim.connection()
            print("\nWhat the Engine holds now:\n" + table(conn))
            conn.close()
            print("\n%d API requests (%d mutating), %.1f s in all." % (
                len(sim.api_requests()), mutating, time.monotonic() - started))
        return 0
    finally:
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
