# SPDX-License-Identifier: GPL-3.0-or-later
"""The Engine's own backups (``engine-backup``): what the tool records in the Engine's database, how the API root
shows it (``engine_backup``, BackendApiResource.getLastEngineBackup) and the periodic check that raises
ENGINE_NO_FULL_BACKUP / ENGINE_NO_WARM_BACKUP (EngineBackupAwarenessManager: every BackupCheckPeriodInHours=6,
a database+files backup older than BackupAlertPeriodInDays=1 whole days is too old).

The tool itself runs on the Engine machine, outside the API: the admin API ``POST /sim/engine_backup`` is where a
stand-in ``engine-backup`` (tests) or a user records a finished run, as the real tool writes ``engine_backup_log``.
"""

import datetime

from ovirtsdk4 import types as T

from .model import bad_request

CHECK_PERIOD = 6 * 3600
ALERT_DAYS = 1
SCOPES = ("db", "files", "dwhdb", "grafanadb", "keycloakdb", "cinderlibdb")
# EngineBackupInfo field per engine_backup_log scope (FILES is shown as last_engine_backup)
_FIELDS = {"db": "last_db_backup", "files": "last_engine_backup", "dwhdb": "last_dwh_backup",
           "grafanadb": "last_grafana_backup", "keycloakdb": "last_keycloak_backup",
           "cinderlibdb": "last_cinder_backup"}
ENGINE_NO_FULL_BACKUP = 9022
ENGINE_NO_WARM_BACKUP = 9023
ENGINE_BACKUP_STARTED = 9024
ENGINE_BACKUP_COMPLETED = 9025
ENGINE_BACKUP_FAILED = 9026


class EngineBackupMixin:
    def engine_backup_log(self):
        return list(self.store.meta.get("engine_backup_log", []))

    def record_engine_backup(self, data):
        """One finished ``engine-backup --mode=backup`` run: ``scopes`` (``all`` = db and files), ``status``
        (``success``/``failure``), ``file``, ``done_at`` (default: now on the simulated clock)."""
        scopes = data.get("scopes") or ["all"]
        if isinstance(scopes, str):
            scopes = [scopes]
        expanded = []
        for scope in scopes:
            if scope == "all":
                expanded += ["db", "files"]
            elif scope in SCOPES:
                expanded.append(scope)
            else:
                raise bad_request("Invalid value '%s' for field 'scopes': allowed values are all, %s" % (
                    scope, ", ".join(SCOPES)))
        status = data.get("status", "success")
        if status not in ("success", "failure"):
            raise bad_request("Invalid value '%s' for field 'status': allowed values are success, failure" % status)
        done_at = float(data.get("done_at", self.now()))
        log = self.engine_backup_log()
        entry = {"scopes": expanded, "status": status, "done_at": done_at, "file": data.get("file"),
                 "log": data.get("log")}
        log.append(entry)
        self.store.set_meta("engine_backup_log", log[-500:])
        self.emit(ENGINE_BACKUP_STARTED, "Engine backup started.")
        if status == "success":
            self.emit(ENGINE_BACKUP_COMPLETED, "Engine backup completed successfully.")
        else:
            self.emit(ENGINE_BACKUP_FAILED, "Engine backup failed.", "error")
        return entry

    def last_engine_backup(self, scope):
        done = [e["done_at"] for e in self.engine_backup_log() if e["status"] == "success" and scope in e["scopes"]]
        return max(done) if done else None

    def engine_backup_info(self):
        info = T.EngineBackupInfo()
        for scope, field in _FIELDS.items():
            t = self.last_engine_backup(scope)
            if t is not None:
                setattr(info, field, datetime.datetime.fromtimestamp(t, datetime.timezone.utc))
        return info

    def schedule_engine_backup_check(self):
        with self.lock:
            if not self.pending("engine_backup_check"):
                self.schedule(CHECK_PERIOD, "engine_backup_check")

    def timer_engine_backup_check(self):
        db, files = self.last_engine_backup("db"), self.last_engine_backup("files")
        if db is None or files is None:
            self.emit(ENGINE_NO_FULL_BACKUP, "There is no full backup available, please run engine-backup to "
                                             "prevent data loss in case of corruption.", "alert")
        else:
            oldest = min(db, files)
            if int((self.now() - oldest) // 86400) > ALERT_DAYS:
                when = datetime.datetime.fromtimestamp(oldest, datetime.timezone.utc).strftime(
                    "%a %b %d %H:%M:%S UTC %Y")
                self.emit(ENGINE_NO_WARM_BACKUP, "Full backup was created on %s and it's too old. Please run "
                                                 "engine-backup to prevent data loss in case of corruption." % when,
                          "alert")
        self.schedule(CHECK_PERIOD, "engine_backup_check")
