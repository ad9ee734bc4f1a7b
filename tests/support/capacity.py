# SPDX-License-Identifier: GPL-3.0-or-later
"""Check a simulator's state history: were the running VMs ever more than the up hosts could hold?"""

RUNNING = {"up", "powering_up", "wait_for_launch", "migrating", "paused", "reboot_in_progress", "unknown",
           "not_responding", "powering_down", "restoring_state", "saving_state"}


def replay(state, history):
    """Yield (t, running memory, up capacity, vm statuses, host statuses) after each history entry, starting from
    ``state`` (the simulator's state when the history begins)."""
    mem = dict((v["id"], v["memory"]) for v in state["vms"])
    cap = dict((h["id"], h["capacity"]) for h in state["hosts"])
    vms = dict((v["id"], v["status"]) for v in state["vms"])
    hosts = dict((h["id"], h["status"]) for h in state["hosts"])
    for entry in sorted(history, key=lambda e: e["t"]):
        if entry["kind"] == "vm" and entry["id"] in vms:
            vms[entry["id"]] = entry["status"]
        elif entry["kind"] == "host" and entry["id"] in hosts:
            hosts[entry["id"]] = entry["status"]
        running = sum(mem[v] for v, s in vms.items() if s in RUNNING)
        up = sum(cap[h] for h, s in hosts.items() if s == "up")
        yield entry["t"], running, up, vms, hosts


def violations(state, history):
    return [(t, running, up) for t, running, up, _v, _h in replay(state, history) if running > up]


def intervals(history, kind, oid, bad):
    """[(start, end)] during which object ``oid`` had a status ``bad(status)``."""
    out, start = [], None
    for e in sorted(history, key=lambda e: e["t"]):
        if e["kind"] != kind or e["id"] != oid:
            continue
        if bad(e["status"]) and start is None:
            start = e["t"]
        elif not bad(e["status"]) and start is not None:
            out.append((start, e["t"]))
            start = None
    if start is not None:
        out.append((start, None))
    return out
