# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Retention planning (pure: manifests in, a plan out) and the merge that keeps chains whole (real qcow2 files)."""

import calendar
import datetime
import os
import subprocess

import pytest

from ansible_collections.sre.ovirt.plugins.module_utils.backup import images, retention
from ansible_collections.sre.ovirt.plugins.module_utils.backup.repository import Repository

MIB = 1 << 20
DAY = 86400


def t(text):
    return calendar.timegm(datetime.datetime.strptime(text, "%Y-%m-%d %H:%M").timetuple())


def pid(epoch, n=0):
    return datetime.datetime.utcfromtimestamp(epoch).strftime("%Y%m%dT%H%M%SZ") + "-%08x" % n


def series(start, count, step=DAY, fulls_every=None, bad=()):
    """``count`` points ``step`` apart from ``start``: one full then incrementals (a full every ``fulls_every``)."""
    out = []
    for i in range(count):
        epoch = start + i * step
        full = i == 0 or (fulls_every and i % fulls_every == 0)
        out.append({"id": pid(epoch, i), "started_epoch": epoch, "finished_epoch": epoch + 60,
                    "type": "full" if full else "incremental", "parent": None if full else out[-1]["id"],
                    "status": "bad" if i in bad else "good"})
    return out


def kept(result):
    return [k["id"] for k in result["keep"]]


def ids(points, *idx):
    return [points[i]["id"] for i in idx]


def test_keep_last_keeps_the_newest_n_and_merges_the_oldest_kept_into_a_full():
    pts = series(t("2026-01-01 02:00"), 10)
    res = retention.plan(pts, {"keep_last": 3})
    assert kept(res) == ids(pts, 7, 8, 9)
    assert [r["id"] for r in res["remove"]] == ids(pts, *range(7))
    assert res["consolidate"] == [{"id": pts[7]["id"], "onto": None, "merges": ids(pts, *range(7))}]
    assert res["keep"][-1]["reasons"] == ["newest", "last 3"]


def test_daily_keeps_the_newest_point_of_each_day():
    pts = series(t("2026-03-01 00:30"), 12, step=6 * 3600)     # four points a day, three days
    res = retention.plan(pts, {"keep_daily": 2})
    assert kept(res) == ids(pts, 7, 11)
    assert res["keep"][0]["reasons"] == ["daily 2026-03-02"]
    # the day's newest (18:30 on the 2nd) merges onto nothing kept before it: a full
    assert res["consolidate"][0]["onto"] is None
    # the kept point of the 3rd merges the three points between it and the 2nd's onto the 2nd's
    assert res["consolidate"][1] == {"id": pts[11]["id"], "onto": pts[7]["id"], "merges": ids(pts, 8, 9, 10)}


def test_hourly_weekly_monthly_yearly_buckets():
    pts = series(t("2024-12-30 01:00"), 400)                    # daily, into 2026
    assert [k["reasons"] for k in retention.plan(pts, {"keep_weekly": 2})["keep"]] == [
        ["weekly 2026-W05"], ["newest", "weekly 2026-W06"]]     # ISO weeks: Sunday is a week's last day
    res = retention.plan(pts, {"keep_monthly": 3})
    assert [r for k in res["keep"] for r in k["reasons"]] == [
        "monthly 2025-12", "monthly 2026-01", "newest", "monthly 2026-02"]
    assert kept(res)[0] == pid(t("2025-12-31 01:00"), 366)
    res = retention.plan(pts, {"keep_yearly": 5})
    assert [r for k in res["keep"] for r in k["reasons"]] == ["yearly 2024", "yearly 2025", "newest", "yearly 2026"]
    hourly = series(t("2026-05-01 10:00"), 9, step=20 * 60)
    assert [k["reasons"] for k in retention.plan(hourly, {"keep_hourly": 2})["keep"]] == [
        ["hourly 2026-05-01T11"], ["newest", "hourly 2026-05-01T12"]]


def test_rules_add_up_and_one_point_may_be_kept_by_several():
    pts = series(t("2026-01-01 02:00"), 60)
    res = retention.plan(pts, {"keep_daily": 3, "keep_weekly": 2, "keep_monthly": 2})
    reasons = dict((k["id"], k["reasons"]) for k in res["keep"])
    newest = pts[-1]["id"]                                      # 2026-03-01, a Sunday
    assert reasons[newest] == ["newest", "daily 2026-03-01", "weekly 2026-W09", "monthly 2026-03"]
    assert reasons[pid(t("2026-02-22 02:00"), 52)] == ["weekly 2026-W08"]
    assert reasons[pid(t("2026-02-28 02:00"), 58)] == ["daily 2026-02-28", "monthly 2026-02"]
    assert len(reasons) == 4


def test_keep_within_counts_back_from_the_newest_point_not_the_clock():
    pts = series(t("2026-01-01 02:00"), 30)
    res = retention.plan(pts, {"keep_within": "1w"})
    assert len(kept(res)) == 8 and res["now"] == pts[-1]["started_epoch"]   # a week back, both ends in
    # backups stopped a month ago: counted from the newest point nothing ages out; counted from the Engine's clock
    # (an explicit now) only the newest, always kept, stays
    assert kept(retention.plan(pts, {"keep_within": "1w"}, now=pts[-1]["started_epoch"] + 30 * DAY)) == ids(pts, 29)
    months = series(t("2025-01-31 02:00"), 400)
    res = retention.plan(months, {"keep_within": "1m"})
    assert res["keep"][0]["id"] == pid(t("2026-02-06 02:00"), 371)   # 2026-03-06 minus a calendar month


def test_policy_errors_name_the_option_and_the_allowed_values():
    with pytest.raises(retention.PolicyError) as exc:
        retention.plan([], {})
    assert "set at least one" in str(exc.value)
    with pytest.raises(retention.PolicyError) as exc:
        retention.plan([], {"keep_daily": -1})
    assert exc.value.field == "keep_daily" and "0 or more" in str(exc.value)
    for bad in ("3x", "d", "7d1w"):
        with pytest.raises(retention.PolicyError) as exc:
            retention.check_policy({"keep_within": bad, "keep_last": 1})
        assert exc.value.field == "keep_within" and "36h, 14d, 1y6m" in str(exc.value)
    assert retention.parse_within("1y6m2w3d4h") == (1, 6, 2, 3, 4)


def test_points_a_kept_point_reads_through_are_merged_not_broken():
    pts = series(t("2026-01-01 02:00"), 10, fulls_every=5)      # fulls at 0 and 5
    res = retention.plan(pts, {"keep_last": 2, "keep_weekly": 2})
    # weekly keeps 2026-01-04 (3) and the newest (9); last keeps 8 and 9
    assert kept(res) == ids(pts, 3, 8, 9)
    assert res["consolidate"] == [{"id": pts[3]["id"], "onto": None, "merges": ids(pts, 0, 1, 2)},
                                  {"id": pts[8]["id"], "onto": None, "merges": ids(pts, 5, 6, 7)}]
    # every kept point's chain is whole: the parents named after the merges are kept
    parents = dict((c["id"], c["onto"]) for c in res["consolidate"])
    for k in kept(res):
        parent = parents.get(k, [p for p in pts if p["id"] == k][0]["parent"])
        assert parent is None or parent in kept(res)


def test_a_kept_full_needs_no_merge_and_nothing_is_removed_twice():
    pts = series(t("2026-01-01 02:00"), 6, fulls_every=3)
    res = retention.plan(pts, {"keep_last": 3})
    assert kept(res) == ids(pts, 3, 4, 5) and res["consolidate"] == []
    again = retention.plan([p for p in pts if p["id"] in kept(res)], {"keep_last": 3})
    assert kept(again) == kept(res) and again["remove"] == [] and again["consolidate"] == []


def test_bad_points_are_never_kept_as_parents_and_go_with_what_reads_through_them():
    pts = series(t("2026-01-01 02:00"), 8, fulls_every=4, bad=(5,))
    res = retention.plan(pts, {"keep_last": 3})
    # 5 is bad, 6 and 7 read through it: the usable newest are 2, 3 and 4 (a full)
    assert kept(res) == ids(pts, 2, 3, 4)
    removed = dict((r["id"], r["reason"]) for r in res["remove"])
    assert removed[pts[5]["id"]] == "not usable: status bad"
    assert removed[pts[7]["id"]] == "not usable: reads through unusable point %s" % pts[6]["id"]
    assert removed[pts[6]["id"]] == "not usable: reads through bad point %s" % pts[5]["id"]
    assert res["consolidate"] == [{"id": pts[2]["id"], "onto": None, "merges": ids(pts, 0, 1)}]
    missing = [p for p in pts if p["id"] != pts[1]["id"]]
    assert "its parent %s is missing" % pts[1]["id"] in dict(
        (r["id"], r["reason"]) for r in retention.plan(missing, {"keep_last": 1})["remove"])[pts[2]["id"]]


def test_a_year_of_nightly_points_daily_7_weekly_4_monthly_12():
    pts = series(t("2025-11-28 02:00"), 365)                    # to 2026-11-27 (a Friday)
    res = retention.plan(pts, {"keep_daily": 7, "keep_weekly": 4, "keep_monthly": 12})
    days = [datetime.datetime.utcfromtimestamp(p["started_epoch"]).strftime("%m-%d")
            for p in pts if p["id"] in kept(res)]
    assert days == ["12-31", "01-31", "02-28", "03-31", "04-30", "05-31", "06-30", "07-31", "08-31",
                    "09-30", "10-31", "11-08", "11-15", "11-21", "11-22", "11-23", "11-24", "11-25", "11-26",
                    "11-27"]
    # the oldest monthly becomes a full, each later kept point whose parent goes is rebased onto the kept before it
    assert len(res["consolidate"]) == 14 and res["consolidate"][0]["onto"] is None
    assert all(c["onto"] == k for c, k in zip(res["consolidate"][1:], kept(res)))


# -- the merge, on real qcow2 files -----------------------------------------------------------------------------
def _qemu_io(path, cmd):
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", cmd, path], check=True, stdout=subprocess.DEVNULL)


def _repo_with_chain(tmp_path, n=4):
    repo = Repository(str(tmp_path / "repo")).open(create=True)
    points, sums, prev = [], [], None
    for i in range(n):
        p = pid(t("2026-01-01 02:00") + i * DAY, i)
        partial = repo.begin("vm1", p)
        path = os.path.join(partial, "d1.qcow2")
        args = ["qemu-img", "create", "-q", "-f", "qcow2"]
        backing = "../%s/d1.qcow2" % prev if prev else None
        if backing:
            args += ["-b", backing, "-F", "qcow2"]
        subprocess.run(args + [path, str(8 * MIB)], check=True)
        _qemu_io(path, "write -P %d %d 512k" % (i + 1, i * MIB))
        sums.append(images.guest_sha256(path))
        disk = {"disk_id": "d1", "alias": "data", "file": "d1.qcow2", "parent_file": backing,
                "backup_mode": "incremental" if prev else "full", "file_sha256": images.file_sha256(path)}
        epoch = t("2026-01-01 02:00") + i * DAY
        repo.publish("vm1", p, partial, {"id": p, "vm": {"id": "vm1", "name": "web1"}, "parent": prev,
                                         "type": "incremental" if prev else "full", "started_epoch": epoch,
                                         "finished_epoch": epoch, "status": "good", "disks": [disk]})
        points.append(p)
        prev = p
    return repo, points, sums


def test_merging_into_a_full_and_onto_a_kept_ancestor_keeps_guest_content(tmp_path):
    repo, points, sums = _repo_with_chain(tmp_path)
    # keep 1 and 3: 1 becomes a full, 3 is rebased onto 1 (absorbing 2)
    steps = [{"id": points[1], "onto": None, "merges": [points[0]]},
             {"id": points[3], "onto": points[1], "merges": [points[2]]}]
    for step in steps:
        retention.check_chain(repo, "vm1", repo.read_manifest("vm1", step["id"]))
        retention.consolidate(repo, "vm1", step)
    for gone in (points[2], points[0]):
        repo.remove_point("vm1", gone)
    assert [p["id"] for p in repo.points("vm1")] == [points[1], points[3]]
    one, three = repo.read_manifest("vm1", points[1]), repo.read_manifest("vm1", points[3])
    assert one["type"] == "full" and one["parent"] is None and one["consolidated_from"] == [points[0]]
    assert one["disks"][0]["parent_file"] is None and one["disks"][0]["backup_mode"] == "full"
    assert three["parent"] == points[1] and three["disks"][0]["parent_file"] == "../%s/d1.qcow2" % points[1]
    assert "backing-filename" not in images.info(os.path.join(one["path"], "d1.qcow2"))
    assert images.guest_sha256(os.path.join(one["path"], "d1.qcow2")) == sums[1]
    assert images.guest_sha256(os.path.join(three["path"], "d1.qcow2")) == sums[3]
    for m in (one, three):
        assert images.file_sha256(os.path.join(m["path"], "d1.qcow2")) == m["disks"][0]["file_sha256"]
    assert not [n for n in os.listdir(repo.vm_dir("vm1")) if n.startswith(".")]


def test_a_damaged_chain_is_never_merged(tmp_path):
    repo, points, _sums = _repo_with_chain(tmp_path, n=3)
    _qemu_io(os.path.join(repo.point_dir("vm1", points[0]), "d1.qcow2"), "write -P 9 0 64k")
    with pytest.raises(retention.ConsolidationError) as exc:
        retention.check_chain(repo, "vm1", repo.read_manifest("vm1", points[2]))
    assert points[0] in str(exc.value) and "damaged" in str(exc.value)
