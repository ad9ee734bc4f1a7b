# SPDX-License-Identifier: GPL-3.0-or-later
"""Start-up after a crash: what the previous run wrote to storage but never acknowledged is removed.

A disk's image files are made before its record is committed (``Store.flush`` on the clock or at the end of a
request); a simulator killed between the two leaves a folder no disk owns. The Engine never shows such a volume,
so neither does the simulator: its folder goes, and the next add starts clean."""

import os
import shutil


class RecoveryMixin:
    def remove_unacknowledged_images(self):
        """Remove ``storage/<sd>/images/<disk-id>`` folders of known storage domains whose disk is not stored;
        return the removed paths."""
        disks = set(d.id for d in self.store.list("disks"))
        removed = []
        root = os.path.join(self.state_dir, "storage")
        for sd in self.store.list("storagedomains"):
            images = os.path.join(root, sd.id, "images")
            if not os.path.isdir(images):
                continue
            for did in os.listdir(images):
                if did not in disks:
                    path = os.path.join(images, did)
                    shutil.rmtree(path, ignore_errors=True)
                    removed.append(path)
        return removed
