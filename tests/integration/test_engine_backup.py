# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/engine_backup.yml against a local inventory host whose engine-backup is the stand-in in
tests/support/bin (a real tar archive and log; it records the run in the simulator as the real tool records it in
the Engine's database)."""

import os
import time

from tests.integration.harness import run_playbook
from tests.support.collection import REPO
from tests.support.s3 import start_s3

PLAYBOOK = os.path.join(REPO, "playbooks", "engine_backup.yml")
STUB_BIN = os.path.join(REPO, "tests", "support", "bin")


def _run(sim, tmp_path, fail=False, keep=2, check=False, env=None, extra=None):
    inventory = tmp_path / "inventory"
    inventory.write_text("[engine]\nengine-vm ansible_connection=local\n")
    stub = {"PATH": STUB_BIN + os.pathsep + os.environ["PATH"], "ENGINE_BACKUP_STUB_ADMIN_URL": sim.admin_url,
            "ENGINE_BACKUP_STUB_AUTH": "%s:%s" % (sim.username, sim.password), "ENGINE_BACKUP_STUB_CA": sim.ca_file}
    env = dict(env or {}, **stub)
    if fail:
        env["ENGINE_BACKUP_STUB_FAIL"] = "1"
    ev = {"engine_backup_dir": str(tmp_path / "backups"), "engine_backup_keep": str(keep),
          "engine_backup_become": "false"}
    ev.update(extra or {})
    return run_playbook(sim, PLAYBOOK, env=env, check=check, extra_args=["-i", str(inventory)], extra_vars=ev)


def _archives(tmp_path):
    folder = tmp_path / "backups"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_backups_are_checked_kept_to_n_and_shown_on_the_api_root(sim, tmp_path):
    for _run_number in range(3):
        run = _run(sim, tmp_path)
        assert run.rc == 0, run.stdout[-3000:]
        time.sleep(1.1)        # archive names carry the second
    names = _archives(tmp_path)
    assert len([n for n in names if n.endswith(".backup")]) == 2, names
    assert len([n for n in names if n.endswith(".backup.sha256")]) == 2
    assert len([n for n in names if n.endswith(".log")]) == 2
    result = run.results("Note what was done", host="engine-vm")[0]["ansible_facts"]["engine_backup_result"]
    assert int(result["entries"]) == 3 and len(result["sha256"]) == 64 and len(result["removed"]) == 1
    conn = sim.connection()
    try:
        info = conn.system_service().get().engine_backup
        assert info.last_db_backup is not None and info.last_engine_backup is not None
    finally:
        conn.close()


def test_a_failing_engine_backup_fails_with_the_log_tail_and_keeps_older_archives(sim, tmp_path):
    ok = _run(sim, tmp_path)
    assert ok.rc == 0, ok.stdout[-3000:]
    before = _archives(tmp_path)
    time.sleep(1.1)
    run = _run(sim, tmp_path, fail=True)
    assert run.rc != 0
    msg = run.results("Fail", host="engine-vm")[0]["msg"]
    assert "engine-backup failed (exit 1)" in msg and "FATAL: Database engine backup failed" in msg
    assert "pg_dump: error" in msg                                  # the log's tail, not only stderr
    after = _archives(tmp_path)
    assert [n for n in after if n.endswith(".backup")] == [n for n in before if n.endswith(".backup")]


def test_check_mode_runs_nothing(sim, tmp_path):
    run = _run(sim, tmp_path, check=True)
    assert run.rc == 0, run.stdout[-3000:]
    assert [n for n in _archives(tmp_path) if n.endswith(".backup")] == []


def test_archives_are_copied_off_site_with_their_checksum_and_the_newest_kept(sim, tmp_path):
    with start_s3(str(tmp_path)) as s3:
        s3.client().create_bucket(Bucket="engine")
        extra = {"engine_backup_offsite_bucket": "engine", "engine_backup_offsite_keep": "2",
                 "engine_backup_offsite_stage": str(tmp_path)}
        for _run_number in range(3):
            run = _run(sim, tmp_path, env=s3.env(), extra=extra)
            assert run.rc == 0, run.stdout[-3000:]
            time.sleep(1.1)
        objects = s3.client().list_objects_v2(Bucket="engine", Prefix="engine-backups/")["Contents"]
        local = [n for n in _archives(tmp_path) if n.endswith(".backup")]
        assert sorted(o["Key"].split("/")[-1] for o in objects) == local      # the same newest two
        for obj in objects:
            head = s3.client().head_object(Bucket="engine", Key=obj["Key"])
            path = tmp_path / "backups" / obj["Key"].split("/")[-1]
            with open(str(path) + ".sha256") as f:
                assert head["Metadata"]["sha256"] == f.read().split()[0]
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".backup")]   # the staged copy is gone
