# -*- coding: utf-8 -*-
# Copyright: sre.ovirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Engine facts for disaster recovery: storage-domain statuses, the import/registration event codes, what can
be imported. One place, so the modules and the role read them the same way."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Storage-domain types of the storage (StorageType) the import understands.
FILE_TYPES = ("nfs", "posixfs", "glusterfs")
BLOCK_TYPES = ("iscsi", "fcp")
IMPORT_TYPES = FILE_TYPES + BLOCK_TYPES

# Statuses of a storage domain in its data center's view (StorageDomainStatus)
SD_ACTIVE = "active"
SD_MAINTENANCE = "maintenance"
SD_UNATTACHED = "unattached"
SD_INACTIVE = "inactive"
SD_LOCKED = "locked"
# Transitional: the Engine is still working on the domain; wait.
SD_TRANSITIONAL = ("locked", "activating", "preparing_for_maintenance", "detaching", "unknown")
# A domain in one of these can be detached from its data center.
SD_DETACHABLE = (SD_MAINTENANCE, SD_INACTIVE)
# A domain in one of these cannot be activated without the administrator.
SD_FAILED = ("inactive",)

# Events (AuditLogType)
VM_IMPORT_FROM_CONFIGURATION_EXECUTED_SUCCESSFULLY = 174
VM_IMPORT_FROM_CONFIGURATION_ATTACH_DISKS_FAILED = 175
TEMPLATE_IMPORT_FROM_CONFIGURATION_SUCCESS = 176
TEMPLATE_IMPORT_FROM_CONFIGURATION_FAILED = 177
STORAGE_DOMAIN_ACTIVATED = 966
STORAGE_DOMAIN_DEACTIVATED = 968
STORAGE_DOMAIN_ATTACHED = 962
STORAGE_DOMAIN_DETACHED = 964
STORAGE_DOMAIN_REMOVED = 960
# A registration whose disks did not all attach: the VM exists, some of its disks do not.
PARTIAL_IMPORT_EVENTS = (VM_IMPORT_FROM_CONFIGURATION_ATTACH_DISKS_FAILED,)

# The Engine refuses to import these (hosted-engine storage must stay with the hosted engine).
NOT_IMPORTABLE_NAMES = ("hosted_storage",)

# The mapping file's sections of {primary, secondary} names, and what each maps (for messages).
NAME_SECTIONS = (
    ("clusters", "cluster"),
    ("affinity_groups", "affinity group"),
    ("affinity_labels", "affinity label"),
    ("mac_pools", "MAC pool"),
    ("roles", "role"),
    ("domains", "authorization domain"),
)
PROFILE_SECTION = "vnic_profiles"
PROFILE_KEYS = ("primary_network", "primary_profile", "secondary_network", "secondary_profile")
