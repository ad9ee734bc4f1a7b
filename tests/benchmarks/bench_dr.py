# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""RTO of an unplanned failover of 50 VMs (10 HA): the ``sre.ovirt.dr`` role (register per domain, start in waves
of ``dr_start_batch`` by HA priority, each wave verified up with guest IPs) against the incumbent's way (register
each VM, then start each and wait for it, one after another), each on a fresh pair of simulators with the same
seeds, the same replica and the same clock.

The overhead is the RTO minus the boot time the simulator imposes: per wave the slowest VM's boot (the simulator's
deterministic ±20 % spread around ``vm_boot_seconds``), summed over the waves; for the incumbent, every VM's boot.

    python tests/benchmarks/bench_dr.py [--vms 50] [--ha 10] [--time-scale 0.25] [--batch 10]
"""

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tests", "simulator"))
sys.path.insert(0, HERE)

from _common import finish, table  # noqa: E402
from ovirt_engine_sim.testing import poll, start_simulator  # noqa: E402
from tests.integration.harness import run_playbook  # noqa: E402

DOMAIN = "dr-data"
TARGET = 0.3                          # the role's RTO <= 0.3 x the incumbent's


def boot_seconds(vm_id, base):
    """The simulator's boot time of a VM (ovirt_engine_sim/vms.py boot_seconds)."""
    spread = (int(vm_id.replace("-", "")[:8], 16) % 41 - 20) / 100.0
    return base * (1 + spread)


def prepare(vms, ha, time_scale):
    """Two sites; ``vms`` VMs on dr-data of the primary (the seed's five and more from its template, ``ha`` of them
    HA with priorities), all but the seed's tools01 running; the OVF store written; the replica frozen and the
    primary stopped. Returns (base, secondary, mapping, status file, running VMs with their ids)."""
    from ovirtsdk4 import types
    base = tempfile.mkdtemp(prefix="sre-ovirt-bench-dr-")
    primary = start_simulator(os.path.join(base, "east"), seed="dr-primary", time_scale=time_scale)
    secondary = start_simulator(os.path.join(base, "west"), seed="dr-secondary", time_scale=time_scale)
    try:
        conn = primary.connection()
        svc = conn.system_service().vms_service()
        seed_ha = [v for v in svc.list() if v.high_availability and v.high_availability.enabled]
        extra = vms - 5
        extra_ha = ha - len(seed_ha)
        for i in range(extra):
            is_ha = i < extra_ha
            svc.add(types.Vm(name="svc%02d" % (i + 1), cluster=types.Cluster(name="east"),
                             template=types.Template(name="centos9-east"),
                             high_availability=types.HighAvailability(enabled=is_ha,
                                                                      priority=(90 - i) if is_ha else 0)))
        for v in svc.list():
            if v.name.startswith("svc"):     # created image_locked; start each once its disk is ready
                poll(lambda v=v: svc.vm_service(v.id).get(), lambda o: o.status.value == "down", timeout=120)
                svc.vm_service(v.id).start()
        poll(lambda: svc.list(search="status=up"), lambda up: len(up) >= vms - 1, timeout=300)
        sd = [s for s in conn.system_service().storage_domains_service().list() if s.name == DOMAIN][0]
        conn.system_service().storage_domains_service().storage_domain_service(sd.id).update_ovf_store()
        running = {v.name: v.id for v in svc.list(search="status=up") if v.name != "batch01"}
        conn.close()
        primary.admin("POST", "replication", {"domain": DOMAIN, "to_state_dir": secondary.state_dir, "mode": "sync"})
        drdir = os.path.join(base, "dr")
        os.makedirs(drdir)
        mapping = os.path.join(drdir, "mapping.yml")
        export_p = os.path.join(primary.state_dir, "exports", DOMAIN)
        export_s = os.path.join(secondary.state_dir, "exports", DOMAIN)
        gen = run_playbook(secondary, [{"hosts": "localhost", "gather_facts": False, "tasks": [{
            "name": "Mapping", "sre.ovirt.dr_plan": {
                "state": "generated", "storage_domains": [DOMAIN], "mapping_file": mapping,
                "primary": primary.auth(), "secondary": secondary.auth(),
                "name_map": {"east": "west", "networks": {"app": "app-west"}, "vnic_profiles": {"app": "app-west"},
                             "storage_domains": {export_p: export_s,
                                                 "nfs-east.example.test": "nfs-west.example.test"}}}}]}])
        if gen.rc != 0:
            raise RuntimeError("mapping: %s" % gen.stdout[-2000:])
        record = run_playbook(secondary, os.path.join(REPO, "playbooks", "dr_record.yml"), extra_vars={
            "dr_primary_auth": primary.auth(), "dr_mapping_file": mapping})
        if record.rc != 0:
            raise RuntimeError("record: %s" % record.stdout[-2000:])
        primary.admin("POST", "replication/%s/freeze" % DOMAIN, {})
        status = os.path.join(drdir, "replication.json")
        with open(status, "w") as f:
            json.dump(primary.admin("GET", "replication"), f)
    except Exception:
        secondary.stop()
        raise
    finally:
        primary.stop()
    return base, secondary, mapping, status, running


def incumbent_play(secondary, mapping, order):
    auth = secondary.auth()
    return [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Import", "sre.ovirt.storage_domain_import": {
            "auth": auth, "name": DOMAIN, "data_center": "dc-west", "type": "nfs", "address": "nfs-west.example.test",
            "path": os.path.join(secondary.state_dir, "exports", DOMAIN), "poll_interval": 0.3}},
        {"name": "Register the template", "sre.ovirt.vm_register": {
            "auth": auth, "storage_domain": DOMAIN, "kind": "template", "mapping_file": mapping}},
        {"name": "Register each VM", "sre.ovirt.vm_register": {
            "auth": auth, "storage_domain": DOMAIN, "names": ["{{ item }}"], "mapping_file": mapping},
         "loop": order},
        {"name": "Start each VM and wait", "sre.ovirt.vm": {
            "auth": auth, "name": "{{ item }}", "state": "running", "poll_interval": 0.3}, "loop": order}]}]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vms", type=int, default=50)
    ap.add_argument("--ha", type=int, default=10)
    ap.add_argument("--time-scale", type=float, default=0.25, help="0.25: a 20 s boot takes 5 s")
    ap.add_argument("--batch", type=int, default=10, help="dr_start_batch")
    args = ap.parse_args()
    base_boot = 20.0 * args.time_scale
    rows, runs = [], {}

    # The role.
    base, secondary, mapping, status, running = prepare(args.vms, args.ha, args.time_scale)
    try:
        t0 = time.monotonic()
        run = run_playbook(secondary, os.path.join(REPO, "playbooks", "dr_failover.yml"), extra_vars={
            "dr_mode": "unplanned", "dr_primary_auth": {"url": "https://127.0.0.1:1/ovirt-engine/api"},
            "dr_secondary_auth": secondary.auth(), "dr_mapping_file": mapping, "dr_probe_timeout": 2,
            "dr_replication_status_cmd": "cat %s" % shlex.quote(status), "dr_start_batch": args.batch,
            "dr_poll_interval": 0.3})
        wall = time.monotonic() - t0
        if run.rc != 0:
            raise RuntimeError("role: %s" % run.stdout[-4000:])
        with open(os.path.join(os.path.dirname(mapping), "dr-report-failover.json")) as f:
            report = json.load(f)
        waves = {}
        for v in report["vms"]["running"]:
            waves.setdefault(v["wave"], []).append(boot_seconds(running[v["name"]], base_boot))
        boot = sum(max(b) for b in waves.values())
        runs["role"] = dict(wall_seconds=round(wall, 2), rto_seconds=report["rto_seconds"], waves=len(waves),
                            boot_seconds=round(boot, 2), overhead_seconds=round(report["rto_seconds"] - boot, 2),
                            phases=report["phases"], recovered=len(report["vms"]["recovered"]),
                            api_requests=len(run.api_requests()), mutating=len(run.mutating()))
        up = [v["name"] for v in report["vms"]["running"]]
    finally:
        secondary.stop()
        shutil.rmtree(base, ignore_errors=True)

    # The incumbent: one VM after another, HA priority order, each waited for.
    base, secondary, mapping, status, running = prepare(args.vms, args.ha, args.time_scale)
    try:
        t0 = time.monotonic()
        run = run_playbook(secondary, incumbent_play(secondary, mapping, up))
        wall = time.monotonic() - t0
        if run.rc != 0:
            raise RuntimeError("incumbent: %s" % run.stdout[-4000:])
        boot = sum(boot_seconds(running[n], base_boot) for n in up)
        runs["incumbent"] = dict(wall_seconds=round(wall, 2), rto_seconds=round(wall, 2), waves=len(up),
                                 boot_seconds=round(boot, 2), overhead_seconds=round(wall - boot, 2),
                                 recovered=len(up), api_requests=len(run.api_requests()),
                                 mutating=len(run.mutating()))
    finally:
        secondary.stop()
        shutil.rmtree(base, ignore_errors=True)

    for name in ("role", "incumbent"):
        rows.append(dict(method=name, **{k: v for k, v in runs[name].items() if k != "phases"}))
    table("Unplanned failover of %d VMs (%d HA, %d running), boot %.1f s +-20 %% (time scale %s), batch %d" % (
        args.vms, args.ha, len(up), base_boot, args.time_scale, args.batch), rows,
        ["method", "rto_seconds", "wall_seconds", "waves", "boot_seconds", "overhead_seconds", "recovered",
         "api_requests", "mutating"])
    ratio = runs["role"]["rto_seconds"] / runs["incumbent"]["rto_seconds"]
    print("\nrole RTO / incumbent RTO = %.3f (target <= %.2f); role phases: %s" % (
        ratio, TARGET, ", ".join("%s %.1f s" % (p["phase"], p["seconds"]) for p in runs["role"]["phases"])))
    missed = [] if ratio <= TARGET else ["rto ratio %.3f > %.2f" % (ratio, TARGET)]
    if runs["role"]["recovered"] != len(up):
        missed.append("role recovered %d of %d" % (runs["role"]["recovered"], len(up)))
    return finish("bench_dr", {"vms": args.vms, "ha": args.ha, "time_scale": args.time_scale, "batch": args.batch,
                               "boot_base_seconds": base_boot, "runs": runs, "ratio": round(ratio, 3),
                               "target": TARGET}, missed)


if __name__ == "__main__":
    sys.exit(main())
