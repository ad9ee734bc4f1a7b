# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Retention of restore points: which points a policy keeps (restic/borg rules), what goes, and what must be merged
so that no kept point loses the points it reads through (docs/backup.md, "Retention").

``plan(points, policy, now)`` is pure (manifests in, a plan out) so the local repository and the off-site copy share
it; ``consolidate`` and ``remove_points`` apply a plan to the local repository.

A point's time is its ``started_epoch`` (the Engine's clock, as ``vm_backup`` stamps it; ``finished_epoch`` for
older manifests), bucketed in UTC. Bucket rules (``keep_hourly`` ... ``keep_yearly``) keep the newest point of each
of the N newest hours/days/ISO weeks/months/years that have a point, as restic does; ``keep_last`` the N newest
points; ``keep_within`` every point less than the duration older than ``now`` - by default the newest usable point's
time (as restic), so backups that stopped never age the last points out, and no clock is needed. The newest usable
point is always kept.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import re
import shutil

from ansible_collections.sre.ovirt.plugins.module_utils.backup import images

RULES = ("keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly")
BUCKETS = (("keep_hourly", "hourly", "%Y-%m-%dT%H"), ("keep_daily", "daily", "%Y-%m-%d"),
           ("keep_weekly", "weekly", "%G-W%V"), ("keep_monthly", "monthly", "%Y-%m"), ("keep_yearly", "yearly", "%Y"))
DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?$")
TMP = ".retention-"


class PolicyError(ValueError):
    def __init__(self, message, field):
        super(PolicyError, self).__init__(message)
        self.field = field


def parse_within(text):
    """``1y6m``, ``2w``, ``36h``... as (years, months, weeks, days, hours); PolicyError when it is not one."""
    found = DURATION.match((text or "").strip())
    if not found or not any(found.groups()):
        raise PolicyError("keep_within: %r is not a duration; use numbers followed by y (years), m (months), w "
                          "(weeks), d (days) or h (hours), in that order, e.g. 36h, 14d, 1y6m" % text, "keep_within")
    return tuple(int(g or 0) for g in found.groups())


def check_policy(policy):
    """The policy (keep_* counts, keep_within) as validated; PolicyError naming the option otherwise."""
    out = {}
    for rule in RULES:
        value = policy.get(rule) or 0
        if value < 0:
            raise PolicyError("%s: must be 0 or more, got %d" % (rule, value), rule)
        out[rule] = value
    out["keep_within"] = policy.get("keep_within") or None
    if out["keep_within"]:
        parse_within(out["keep_within"])
    if not any(out[r] for r in RULES) and not out["keep_within"]:
        raise PolicyError("keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly, keep_within: "
                          "set at least one (a policy that keeps nothing would remove every point)", "keep_last")
    return out


def point_time(p):
    return p.get("started_epoch") or p["finished_epoch"]


def _utc(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc)


def _within_start(now, within):
    years, months, weeks, days, hours = parse_within(within)
    dt = _utc(now)
    month = dt.year * 12 + dt.month - 1 - years * 12 - months
    year, month = divmod(month, 12)
    day = min(dt.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31,
                       31, 30, 31, 30, 31][month])
    dt = dt.replace(year=year, month=month + 1, day=day)
    return (dt - datetime.timedelta(weeks=weeks, days=days, hours=hours)).timestamp()


def plan(points, policy, now=None):
    """What a policy does to one VM's points (manifests, any order). Returns a dict:

    - ``keep``: [{id, reasons}] oldest first - reasons name the rules (``daily 2026-11-27``, ``needed by X``...);
    - ``remove``: [{id, reason}] oldest first;
    - ``consolidate``: [{id, onto, merges}] oldest first - a kept incremental whose parent goes: its files are
      merged with the points it read through (``merges``) onto its nearest kept ancestor ``onto``, or into a full
      when ``onto`` is None;
    - ``now``: the time ``keep_within`` counted back from.

    Only usable points - status good, and every point they read through good and present - are kept; a bad point
    is never kept as a parent, so it and the points built on it go.
    """
    policy = check_policy(policy)
    by_id = dict((p["id"], p) for p in points)
    ordered = sorted(points, key=lambda p: (point_time(p), p["id"]))
    unusable = {}
    for p in ordered:                      # parents are older: one pass settles every chain
        parent = p.get("parent")
        if p.get("status", "good") != "good":
            unusable[p["id"]] = "status %s" % p.get("status")
        elif parent and parent not in by_id:
            unusable[p["id"]] = "its parent %s is missing" % parent
        elif parent and parent in unusable:
            unusable[p["id"]] = "reads through %s point %s" % (
                "bad" if by_id[parent].get("status", "good") != "good" else "unusable", parent)
    usable = [p for p in reversed(ordered) if p["id"] not in unusable]      # newest first
    reasons = dict((p["id"], []) for p in points)
    if usable:
        reasons[usable[0]["id"]].append("newest")
        for p in usable[:policy["keep_last"]]:
            reasons[p["id"]].append("last %d" % policy["keep_last"])
        for rule, label, fmt in BUCKETS:
            left, last = policy[rule], None
            for p in usable:
                if not left:
                    break
                bucket = _utc(point_time(p)).strftime(fmt)
                if bucket != last:
                    reasons[p["id"]].append("%s %s" % (label, bucket))
                    last, left = bucket, left - 1
        if policy["keep_within"]:
            now = point_time(usable[0]) if now is None else now
            start = _within_start(now, policy["keep_within"])
            for p in usable:
                if point_time(p) >= start:
                    reasons[p["id"]].append("within %s" % policy["keep_within"])
    kept = set(i for i, r in reasons.items() if r)
    consolidate = []
    for p in ordered:
        if p["id"] not in kept or not p.get("parent") or p["parent"] in kept:
            continue
        merges, onto = [], p["parent"]
        while onto is not None and onto not in kept:
            merges.insert(0, onto)
            onto = by_id[onto].get("parent")
        consolidate.append(dict(id=p["id"], onto=onto, merges=merges))
    remove = []
    for p in ordered:
        if p["id"] in kept:
            continue
        why = "no rule keeps it"
        if p["id"] in unusable:
            why = "not usable: %s" % unusable[p["id"]]
        remove.append(dict(id=p["id"], reason=why))
    return dict(keep=[dict(id=p["id"], reasons=reasons[p["id"]]) for p in ordered if p["id"] in kept],
                remove=remove, consolidate=consolidate, now=now)


# -- applying a plan to the local repository ---------------------------------------------------------------------
class ConsolidationError(Exception):
    pass


def check_chain(repo, vm_id, manifest):
    """Every file the point reads through matches its recorded sha256; ConsolidationError naming the first that
    does not (a damaged chain is never merged into a kept point)."""
    for p in repo.chain(vm_id, manifest):
        for d in p["disks"]:
            path = os.path.join(p["path"], d["file"])
            if not os.path.exists(path) or images.file_sha256(path) != d.get("file_sha256"):
                raise ConsolidationError("point %s: %s does not match its recorded sha256; the chain of %s is "
                                         "damaged and is not merged" % (p["id"], d["file"], manifest["id"]))


def consolidate(repo, vm_id, step):
    """Merge a kept point onto ``step['onto']`` (or into a full): per disk that has a backing file, a new file next
    to it - ``qemu-img convert`` of the chain for a full, a copy rebased (safe mode) onto the kept ancestor's file
    otherwise - proven by the guest-visible sha256 of the old chain, then renamed over the old file (every file is
    guest-identical at every moment), then the manifest is rewritten. Returns the disks' new sha256."""
    manifest = repo.read_manifest(vm_id, step["id"])
    onto = repo.read_manifest(vm_id, step["onto"]) if step["onto"] else None
    onto_files = dict((o["disk_id"], o["file"]) for o in (onto or {}).get("disks", []))
    folder = manifest["path"]
    for name in os.listdir(folder):        # left by a run that was killed: never read
        if name.startswith(TMP):
            os.remove(os.path.join(folder, name))
    ready = []
    try:
        for d in manifest["disks"]:
            if not d.get("parent_file"):
                continue                           # a standalone file already (temporary snapshot, full)
            path = os.path.join(folder, d["file"])
            tmp = os.path.join(folder, TMP + d["file"])
            backing = "../%s/%s" % (onto["id"], onto_files[d["disk_id"]]) if d["disk_id"] in onto_files else None
            if backing:                            # qemu resolves the relative backing file from the point's folder
                shutil.copyfile(path, tmp)
                images.qemu_img("rebase", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", tmp)
            else:
                images.qemu_img("convert", "-q", "-O", "qcow2", path, tmp)
            ready.append((d, path, tmp, backing))
            before, after = images.guest_sha256(path), images.guest_sha256(tmp)
            if before != after:
                raise ConsolidationError("point %s, disk %s: the merged file reads %s, the chain %s; nothing was "
                                         "changed" % (step["id"], d.get("alias"), after, before))
    except BaseException:
        for name in os.listdir(folder):
            if name.startswith(TMP):
                os.remove(os.path.join(folder, name))
        raise
    for d, path, tmp, backing in ready:
        os.rename(tmp, path)
        st = os.stat(path)
        d.update(file_sha256=images.file_sha256(path), parent_file=backing, bytes=st.st_blocks * 512,
                 file_size=st.st_size, backup_mode="incremental" if backing else "full")
    fields = dict(disks=manifest["disks"], parent=step["onto"], consolidated_from=step["merges"],
                  bytes=sum(d.get("bytes", 0) for d in manifest["disks"]))
    if step["onto"] is None:
        fields["type"] = "full"
    repo.update_manifest(vm_id, step["id"], **fields)
    return fields
