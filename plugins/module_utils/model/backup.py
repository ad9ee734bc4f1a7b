# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Engine's facts about backups, checkpoints and image transfers (ovirt-engine-api-model BackupPhase,
ImageTransferPhase, Checkpoint), in one place: every backup and restore helper takes its phase sets from here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# VmBackup phases (BackupPhase). SUCCEEDED/FAILED exist since 4.4.7; before that a finished backup vanished (404).
BACKUP_READY = "ready"
BACKUP_SUCCEEDED = "succeeded"
BACKUP_FAILED = "failed"
BACKUP_ACTIVE = ("initializing", "starting", "ready", "finalizing")
BACKUP_ENDED = (BACKUP_SUCCEEDED, BACKUP_FAILED)

# ImageTransfer phases. A transfer is over only in finished_success or finished_failure: a cancel goes
# cancelled_user -> finalizing_cleanup -> finished_cleanup -> finished_failure, and until then the Engine counts it
# as active (a backup cannot be finalized). paused_system usually means imageio is down.
TRANSFER_TRANSFERRING = "transferring"
TRANSFER_DONE_OK = ("finished_success",)
TRANSFER_DONE_FAILED = ("finished_failure",)
TRANSFER_ENDED = TRANSFER_DONE_OK + TRANSFER_DONE_FAILED
TRANSFER_GOING_WRONG = ("cancelled_system", "cancelled_user", "finalizing_failure", "finalizing_cleanup",
                        "finished_cleanup", "paused_system", "paused_user")


def phase_of(obj):
    """The phase of a backup or an image transfer as text (None when the object or its phase is missing)."""
    return obj.phase.value if obj is not None and obj.phase is not None else None


# Checkpoints: an invalid one "should be removed" (CHECKPOINT_INVALID) and can never be an incremental's parent.
CHECKPOINT_USABLE = ("created",)

# Disk backup mode (Disk.backup): only "incremental" disks take part in changed-block tracking.
DISK_INCREMENTAL = "incremental"

# Events (AuditLogType) a backup leaves behind.
VM_BACKUP_STARTED = 10790
VM_BACKUP_SUCCEEDED = 10791
VM_BACKUP_FAILED = 10792
TRANSFER_IMAGE_SUCCEEDED = 1032
TRANSFER_IMAGE_FAILED = 1034
