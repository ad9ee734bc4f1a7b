# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Off-site copies, the pure parts: how files are cut into parts, which bucket points retention may remove (never
one a kept point reads through), and the module's own option checks (before anything is sent)."""

import pytest

from ansible_collections.sre.ovirt.plugins.module_utils.backup import offsite
from ansible_collections.sre.ovirt.plugins.modules import backup_offsite

MIB = 1 << 20
DAY = 86400


def point(n, parent=None, status="good"):
    epoch = 1795000000 + n * DAY
    return {"id": "2026112%dT000000Z-%08x" % (n % 10, n), "type": "incremental" if parent else "full",
            "parent": parent, "started_epoch": epoch, "finished_epoch": epoch, "status": status}


def chain(count):
    out = [point(0)]
    for n in range(1, count):
        out.append(point(n, parent=out[-1]["id"]))
    return out


def test_part_size_grows_only_when_a_file_would_need_more_than_10000_parts():
    assert offsite.part_size_for(100 * MIB, 8 * MIB) == 8 * MIB
    assert offsite.part_size_for(1, 1) == 5 * MIB                      # S3's smallest part
    big = offsite.part_size_for(1 << 40, 8 * MIB)                      # 1 TiB: 105 MiB parts, whole MiB
    assert big % MIB == 0 and -(-(1 << 40) // big) <= 10000 and big == 105 * MIB


def test_retention_never_removes_a_point_a_kept_point_reads_through():
    pts = chain(4)
    remove, needed = offsite.retention_plan(pts, {"keep_last": 1})
    assert remove == [] and needed == [p["id"] for p in pts[:3]]      # the newest reads through all three


def test_retention_removes_an_old_chain_once_a_new_full_exists():
    old = chain(3)
    new_full = point(3)
    remove, needed = offsite.retention_plan(old + [new_full, point(4, parent=new_full["id"])], {"keep_last": 1})
    assert remove == [p["id"] for p in old] and needed == [new_full["id"]]


def test_a_retention_policy_that_keeps_nothing_fails_naming_the_option():
    with pytest.raises(offsite.OffsiteError) as err:
        offsite.retention_plan(chain(2), {"keep_last": 0})
    assert err.value.field.startswith("retention")


def params(**kw):
    p = dict((name, spec.get("default")) for name, spec in backup_offsite.argument_spec().items())
    p.update(repository="/srv/backups", bucket="b", **kw)
    return p


@pytest.mark.parametrize("kw, field", [
    ({"part_size": 4}, "part_size"),
    ({"parallel": 0}, "parallel"),
    ({"kms_key_id": "alias/x"}, "kms_key_id"),
    ({"kms_key_id": "alias/x", "sse": "AES256"}, "kms_key_id"),
    ({"point": "latest"}, "point"),
    ({"state": "fetched", "retention": {"keep_last": 3}}, "retention"),
    ({"retention": {"keep_last": None, "keep_daily": 0}}, "retention"),
    ({"aws_access_key_id": "AKIA"}, "aws_secret_access_key"),
    ({"aws_secret_access_key": "s"}, "aws_access_key_id"),
    ({"ca_bundle": "/ca.pem", "validate_certs": False}, "ca_bundle"),
    ({"prefix": "a//b"}, "prefix"),
])
def test_option_errors_name_the_option(kw, field):
    msg, name = backup_offsite.check_params(params(**kw))
    assert name == field and msg.startswith(field + ":")


def test_good_options_pass():
    assert backup_offsite.check_params(params(sse="aws:kms", kms_key_id="alias/x", prefix="site-a/ovirt")) is None
    assert backup_offsite.check_params(params(state="fetched", point="latest")) is None
