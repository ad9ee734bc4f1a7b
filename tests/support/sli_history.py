# SPDX-License-Identifier: GPL-3.0-or-later
"""Deterministic SLI history for tests and benchmarks: N days of healthy measurements ending at ``now``.

Written straight into a ledger (the same rows sli_collect and the modules write), so a test knows exactly
which budget the gate should compute: one VM-equivalent up all the time (weight = seconds), boots of 30 s,
migrations of 10 s, storage IO at 1 ms and API calls at 50 ms.
"""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _ledger_class():
    sys.path.insert(0, REPO)
    from tests.support.collection import collections_path
    sys.path.insert(0, collections_path())
    from ansible_collections.sre.ovirt.plugins.module_utils.sli.ledger import Ledger
    return Ledger


def healthy_rows(now, days=30, step=300, per_step=1):
    """Rows (measurement, value, t, weight, subject, source_id), oldest first, ending at ``now``."""
    n = int(days * 86400 // step)
    rows = []
    for i in range(n):
        t = now - days * 86400 + i * step + step / 2.0
        rows.append(("vm_up", 1.0, t, float(step), "history", None))
        for k in range(per_step):
            rows.append(("storage_io_seconds", 0.001, t, 1.0, "history", None))
            rows.append(("engine_api_seconds", 0.05, t, 1.0, "history", None))
        if i % 12 == 0:
            rows.append(("vm_boot_seconds", 30.0, t, 1.0, "history", None))
        if i % 72 == 0:
            rows.append(("vm_migration_seconds", 10.0, t, 1.0, "history", None))
    return rows


def seed(path, now, days=30, step=300, per_step=1):
    Ledger = _ledger_class()
    ledger = Ledger(path)
    try:
        rows = healthy_rows(now, days, step, per_step)
        for i in range(0, len(rows), 50000):
            ledger.record_many(rows[i:i + 50000])
        return len(rows)
    finally:
        ledger.close()
