# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The embedded SLI ledger: one SQLite file (WAL, so parallel forks can write), fed by the collection.

A row is one measurement: ``(measurement, t, value, weight, subject, source_id)``. Events weigh 1 (a boot of
42 s is ``vm_boot_seconds, value=42``); time-based samples weigh the seconds they cover (``vm_up, value=1,
weight=60``). ``source_id`` de-duplicates (an Engine event id is recorded once). The gate reads buckets:
``sum(weight where value <= le)`` over ``sum(weight)`` per step.

Every write also adds to a per-minute roll-up: one row per (measurement, minute, histogram bound) with the
value snapped up to the bound, so ``value <= le`` stays exact for the standard bounds (``BOUNDS``). The gate
reads the roll-up (tens of thousands of rows for 30 days, whatever the raw volume) and falls back to the raw
rows for a threshold that is not a standard bound. Compaction drops raw rows older than a day (the roll-up
keeps their counts); retention drops everything older than the longest SLO window plus a margin.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sqlite3
import time

from ansible_collections.sre.ovirt.plugins.module_utils.slo.budget import Bucket

BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 5, 10, 15, 20, 30, 45, 60, 90,
          120, 180, 300, 600, 1800, 3600)
MEASUREMENTS = ("vm_up", "vm_boot_seconds", "vm_migration_seconds", "storage_io_seconds", "engine_api_seconds",
                "host_maintenance_seconds", "backup_seconds", "backup_bytes", "backup_success", "backup_fresh")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    measurement TEXT NOT NULL, t REAL NOT NULL, value REAL NOT NULL, weight REAL NOT NULL DEFAULT 1,
    subject TEXT, source_id TEXT);
CREATE INDEX IF NOT EXISTS samples_by_time ON samples (measurement, t, value, weight);
CREATE UNIQUE INDEX IF NOT EXISTS samples_once ON samples (measurement, source_id) WHERE source_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS rollup (
    measurement TEXT NOT NULL, t REAL NOT NULL, value REAL NOT NULL, weight REAL NOT NULL,
    PRIMARY KEY (measurement, t, value)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rollup_by_time ON rollup (measurement, t, value, weight);
CREATE TABLE IF NOT EXISTS gate_log (
    t REAL NOT NULL, outcome TEXT NOT NULL, change_class TEXT NOT NULL, module TEXT, reason TEXT, ticket TEXT,
    report TEXT);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""


class LedgerError(Exception):
    pass


def snap(value):
    """The histogram bound a compacted value is stored as (values <= 0 and above the top bound stay)."""
    if value <= 0:
        return value
    for bound in BOUNDS:
        if value <= bound:
            return float(bound)
    return value


class Ledger:
    def __init__(self, path, clock=time.time):
        self.path = path if path == ":memory:" else os.path.abspath(os.path.expanduser(path))
        self.clock = clock
        parent = os.path.dirname(self.path) if path != ":memory:" else None
        try:
            if parent and not os.path.isdir(parent):
                os.makedirs(parent)
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise LedgerError("cannot open the SLI ledger %s: %s" % (self.path, exc))

    def close(self):
        self.db.close()

    # -- writing ---------------------------------------------------------------------------------
    def record(self, measurement, value, t=None, weight=1.0, subject=None, source_id=None):
        """Add one row; False when ``source_id`` was already recorded for this measurement."""
        return self.record_many([(measurement, value, t, weight, subject, source_id)]) == 1

    def record_many(self, rows):
        """Rows of (measurement, value, t, weight, subject, source_id); returns how many were new."""
        now = self.clock()
        rows = [(m, float(now if t is None else t), float(v), float(w), s, sid) for m, v, t, w, s, sid in rows]
        added = 0
        try:
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                rolled = {}
                for row in rows:
                    before = self.db.total_changes
                    self.db.execute(
                        "INSERT OR IGNORE INTO samples (measurement, t, value, weight, subject, source_id) "
                        "VALUES (?, ?, ?, ?, ?, ?)", row)
                    if self.db.total_changes == before:
                        continue  # a duplicate source_id: already counted
                    added += 1
                    key = (row[0], (row[1] // 60) * 60.0, snap(row[2]))
                    rolled[key] = rolled.get(key, 0.0) + row[3]
                self.db.executemany(
                    "INSERT INTO rollup (measurement, t, value, weight) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (measurement, t, value) DO UPDATE SET weight = weight + excluded.weight",
                    [k + (w,) for k, w in rolled.items()])
        except sqlite3.Error as exc:
            raise LedgerError("cannot write to the SLI ledger %s: %s" % (self.path, exc))
        return added

    def log_gate(self, outcome, change_class, module=None, reason=None, ticket=None, report=None):
        with self.db:
            self.db.execute("INSERT INTO gate_log VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (self.clock(), outcome, change_class, module, reason, ticket,
                             json.dumps(report, default=str) if report is not None else None))

    def gate_log(self, since=0):
        cur = self.db.execute("SELECT t, outcome, change_class, module, reason, ticket FROM gate_log "
                              "WHERE t >= ? ORDER BY t", (since,))
        return [dict(zip(("t", "outcome", "change_class", "module", "reason", "ticket"), r)) for r in cur]

    def get_meta(self, key, default=None):
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_meta(self, key, value):
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    # -- reading ---------------------------------------------------------------------------------
    def extent(self, measurement):
        """(first t, last t) of a measurement, or (None, None): raw rows where they are kept, else the roll-up."""
        # One aggregate per query: SQLite answers a lone MIN or MAX from the index, both together by a scan.
        q = "SELECT %s(t) FROM %s WHERE measurement = ?"
        first, last, rfirst, rlast = (self.db.execute(q % (fn, table), (measurement,)).fetchone()[0]
                                      for table in ("samples", "rollup") for fn in ("MIN", "MAX"))
        if rfirst is not None and (first is None or rfirst < first - 60):
            first = rfirst
        if last is None:
            last = rlast
        return first, last

    def buckets(self, good, total, start, end, step, bad=None):
        """Buckets of ``step`` seconds over [start, end) for the ledger queries ``good`` (or ``bad``) and
        ``total`` (dicts: measurement, optional le/ge). Returns (buckets, first_seen, last_seen)."""
        part = good or bad
        if part["measurement"] != total["measurement"]:
            raise LedgerError("good/bad and total must use the same ledger measurement (%s, %s)" % (
                part["measurement"], total["measurement"]))
        cond, args = _bound_sql(part)
        tcond, targs = _bound_sql(total)
        n = int(round((end - start) / step))
        exact = all(_rollup_exact(q, part["measurement"]) for q in (part, total))
        table = "rollup" if exact and start % 60 == 0 and step % 60 == 0 else "samples"
        sql = ("SELECT CAST((t - ?) / ? AS INTEGER) AS b, SUM(CASE WHEN %s THEN weight ELSE 0 END), "
               "SUM(CASE WHEN %s THEN weight ELSE 0 END) FROM %s "
               "WHERE measurement = ? AND t >= ? AND t < ? GROUP BY b" % (cond, tcond, table))
        rows = self.db.execute(sql, [start, step] + args + targs + [total["measurement"], start, end]).fetchall()
        # Buckets with data only (an empty bucket is not data), oldest first.
        out = []
        derive_good = bad is not None and good is None
        for b, g, tot in sorted(rows):
            if 0 <= b < n:
                g, tot = float(g or 0.0), float(tot or 0.0)
                out.append(Bucket(start + b * step, tot - g if derive_good else g, tot))
        first, last = self.extent(total["measurement"])
        return out, first, last

    def count(self, measurement=None):
        if measurement:
            return self.db.execute("SELECT COUNT(*) FROM samples WHERE measurement = ?", (measurement,)).fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM samples").fetchone()[0]

    # -- upkeep ----------------------------------------------------------------------------------
    def compact(self, older_than=86400.0, retain=40 * 86400.0):
        """Drop raw rows older than ``older_than`` seconds (their counts stay in the roll-up; event rows stay
        for de-duplication) and everything older than ``retain``. Returns (raw rows before, after)."""
        now = self.clock()
        before = self.count()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("DELETE FROM samples WHERE t < ?", (now - retain,))
            self.db.execute("DELETE FROM rollup WHERE t < ?", (now - retain,))
            self.db.execute("DELETE FROM samples WHERE t < ? AND source_id IS NULL", (now - older_than,))
        return before, self.count()


def _rollup_exact(query, measurement):
    """Whether the roll-up answers ``query`` exactly: no bound, ``le`` on a standard bound, or ``ge`` on the 0/1
    availability samples."""
    if "le" in query:
        return float(query["le"]) in [float(b) for b in BOUNDS]
    if "ge" in query:
        return measurement == "vm_up" and float(query["ge"]) in (0.0, 1.0)
    return True


def _bound_sql(query):
    if "le" in query:
        return "value <= ?", [float(query["le"])]
    if "ge" in query:
        return "value >= ?", [float(query["ge"])]
    return "1", []
