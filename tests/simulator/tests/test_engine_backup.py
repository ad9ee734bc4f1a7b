# SPDX-License-Identifier: GPL-3.0-or-later
"""The Engine's own backups: engine-backup's records on the API root and the Engine's periodic warning."""

from ovirt_engine_sim.testing import start_simulator

NO_FULL, NO_WARM, COMPLETED, FAILED = 9022, 9023, 9025, 9026


def _codes(conn, since=0):
    return [e.code for e in conn.system_service().events_service().list(from_=since)]


def test_api_root_shows_the_newest_backup_per_scope_and_the_engine_warns_when_it_is_too_old(tmp_path):
    with start_simulator(str(tmp_path / "s"), time_scale=1.0, clock="manual") as sim:
        conn = sim.connection()
        try:
            api = conn.system_service().get()
            assert api.engine_backup.last_db_backup is None and api.engine_backup.last_engine_backup is None
            sim.advance(6 * 3600 + 1)                       # the first check: no backup at all
            assert NO_FULL in _codes(conn)
            sim.admin("POST", "/engine_backup", {"scopes": ["all"], "status": "success", "file": "/b/1.backup"})
            sim.admin("POST", "/engine_backup", {"scopes": ["dwhdb"], "status": "failure"})
            api = conn.system_service().get()
            assert api.engine_backup.last_db_backup is not None and api.engine_backup.last_engine_backup is not None
            assert api.engine_backup.last_dwh_backup is None                 # failed runs do not count
            codes = _codes(conn)
            assert COMPLETED in codes and FAILED in codes
            last = max(e.index for e in conn.system_service().events_service().list())
            sim.advance(24 * 3600)                         # one whole day: not yet too old
            assert NO_WARM not in _codes(conn, last) and NO_FULL not in _codes(conn, last)
            sim.advance(36 * 3600)    # two whole days old at a 6-hourly check ("> 1 day" in whole days): it warns
            assert NO_WARM in _codes(conn, last)
        finally:
            conn.close()


def test_bad_scope_is_refused_naming_the_allowed_values(tmp_path):
    with start_simulator(str(tmp_path / "s")) as sim:
        try:
            sim.admin("POST", "/engine_backup", {"scopes": ["everything"]})
        except Exception as exc:  # noqa: BLE001 - the admin client raises on HTTP errors
            assert "scopes" in str(exc) and "files" in str(exc)
        else:
            raise AssertionError("accepted an unknown scope")
