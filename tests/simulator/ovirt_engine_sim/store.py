# SPDX-License-Identifier: GPL-3.0-or-later
"""In-memory object store of SDK type objects, persisted to SQLite in the state directory.

Every object lives in a named collection (``vms``, ``vm_nics``...), keyed by id, optionally under a
parent id. Objects are kept as ``ovirtsdk4.types`` instances (what the wire shows, minus links) and
serialised with the SDK's own writer/reader; simulator-only state (BMC password, disk file path,
crash flags) lives beside them in a JSON ``extra`` dict. Changes are marked dirty and flushed in one
transaction after each request or clock tick, so a restart on the same directory sees every object,
id and event.
"""

import json
import os
import sqlite3

from ovirtsdk4 import readers as _readers  # noqa: F401  (registers the readers)
from ovirtsdk4 import writers as _writers  # noqa: F401  (registers the writers)
from ovirtsdk4.reader import Reader
from ovirtsdk4.writer import Writer

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    coll TEXT NOT NULL, id TEXT NOT NULL, parent TEXT, seq INTEGER NOT NULL,
    xml BLOB NOT NULL, extra TEXT, PRIMARY KEY (coll, id));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Store:
    def __init__(self, path):
        self.path = path
        self.objs = {}       # coll -> {id: obj}
        self.parent = {}     # coll -> {id: parent_id}
        self.children = {}   # coll -> {parent_id: {id: None}} (ordered set)
        self.extra = {}      # coll -> {id: dict}
        self.seq = {}        # (coll, id) -> insertion order, for stable reloads
        self._next_seq = 0
        self.meta = {}
        self._dirty = set()
        self._deleted = set()
        self._meta_dirty = False
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    # -- reading -----------------------------------------------------------------------------
    def load(self):
        """Load everything from disk. Returns False when the database was empty (needs a seed)."""
        rows = self.db.execute("SELECT coll, id, parent, seq, xml, extra FROM objects ORDER BY seq").fetchall()
        for coll, oid, parent, seq, xml, extra in rows:
            obj = Reader.read(xml)
            self._insert(coll, oid, obj, parent, seq)
            if extra:
                self.extra.setdefault(coll, {})[oid] = json.loads(extra)
        self._next_seq = max((r[3] for r in rows), default=-1) + 1
        self.meta = {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM meta")}
        self._dirty.clear()
        return bool(rows) or bool(self.meta)

    def get(self, coll, oid):
        return self.objs.get(coll, {}).get(oid)

    def list(self, coll, parent=None):
        objs = self.objs.get(coll, {})
        if parent is None:
            return list(objs.values())
        return [objs[i] for i in self.children.get(coll, {}).get(parent, {})]

    def count(self, coll):
        return len(self.objs.get(coll, {}))

    def parent_of(self, coll, oid):
        return self.parent.get(coll, {}).get(oid)

    def x(self, coll, oid):
        """The simulator-only state dict of an object (created on demand, marked dirty by callers)."""
        return self.extra.setdefault(coll, {}).setdefault(oid, {})

    # -- writing -----------------------------------------------------------------------------
    def _insert(self, coll, oid, obj, parent, seq):
        self.objs.setdefault(coll, {})[oid] = obj
        self.seq[(coll, oid)] = seq
        if parent is not None:
            self.parent.setdefault(coll, {})[oid] = parent
            self.children.setdefault(coll, {}).setdefault(parent, {})[oid] = None

    def put(self, coll, obj, parent=None, extra=None):
        oid = obj.id
        if (coll, oid) not in self.seq:
            self._insert(coll, oid, obj, parent, self._next_seq)
            self._next_seq += 1
        else:
            self.objs[coll][oid] = obj
        if extra is not None:
            self.extra.setdefault(coll, {})[oid] = extra
        self.touch(coll, oid)
        return obj

    def touch(self, coll, oid):
        self._dirty.add((coll, oid))
        self._deleted.discard((coll, oid))

    def delete(self, coll, oid):
        obj = self.objs.get(coll, {}).pop(oid, None)
        parent = self.parent.get(coll, {}).pop(oid, None)
        if parent is not None:
            self.children[coll][parent].pop(oid, None)
        self.extra.get(coll, {}).pop(oid, None)
        self.seq.pop((coll, oid), None)
        self._dirty.discard((coll, oid))
        self._deleted.add((coll, oid))
        return obj

    def set_meta(self, key, value):
        self.meta[key] = value
        self._meta_dirty = True

    def flush(self, meta_always=()):
        """Write dirty objects (and meta) in one transaction."""
        for key in meta_always:
            self._meta_dirty = True
        if not (self._dirty or self._deleted or self._meta_dirty):
            return 0
        rows = []
        for coll, oid in self._dirty:
            obj = self.objs.get(coll, {}).get(oid)
            if obj is None:
                continue
            extra = self.extra.get(coll, {}).get(oid)
            rows.append((coll, oid, self.parent.get(coll, {}).get(oid), self.seq[(coll, oid)],
                         Writer.write(obj).encode("utf-8"), json.dumps(extra) if extra else None))
        cur = self.db.cursor()
        cur.execute("BEGIN")
        try:
            if self._deleted:
                cur.executemany("DELETE FROM objects WHERE coll=? AND id=?", list(self._deleted))
            cur.executemany("INSERT OR REPLACE INTO objects VALUES (?,?,?,?,?,?)", rows)
            if self._meta_dirty:
                cur.executemany("INSERT OR REPLACE INTO meta VALUES (?,?)",
                                [(k, json.dumps(v)) for k, v in self.meta.items()])
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        n = len(rows) + len(self._deleted)
        self._dirty.clear()
        self._deleted.clear()
        self._meta_dirty = False
        return n

    def close(self):
        self.flush()
        self.db.close()

    @staticmethod
    def exists(state_dir):
        return os.path.exists(os.path.join(state_dir, "engine.db"))
