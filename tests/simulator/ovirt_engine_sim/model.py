# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection registry: URL segments, SDK types, XML tags, parents, links and hrefs."""

import copy

import ovirtsdk4
from ovirtsdk4 import types as T

from . import API_PREFIX


class ApiError(Exception):
    """An error the Engine would answer with: HTTP status plus a ``<fault>``."""

    def __init__(self, status, detail=None, reason=None):
        super().__init__(detail or reason or str(status))
        self.status = status
        self.detail = detail
        self.reason = reason or {400: "Operation Failed", 404: "Not Found", 409: "Operation Failed"}.get(
            status, "Operation Failed")


def conflict(detail):
    return ApiError(409, "[%s]" % detail)


def bad_request(detail):
    return ApiError(400, "[%s]" % detail)


class Coll:
    """One collection: ``name`` is the store key, ``url`` the path segment under its parent."""

    def __init__(self, name, typ, plural, singular, url, parent=None, links=(), stored=True):
        self.name, self.type, self.plural, self.singular = name, typ, plural, singular
        self.url, self.parent, self.stored = url, parent, stored
        self.links = [(seg, attr) for seg, attr in links if hasattr(typ(), attr)]

    def href(self, oid, parent_id=None):
        if self.parent is None:
            base = "%s/%s" % (API_PREFIX, self.url)
        else:
            base = "%s/%s" % (COLLS[self.parent].href(parent_id), self.url)
        return base if oid is None else "%s/%s" % (base, oid)


_VM_LINKS = [("diskattachments", "disk_attachments"), ("nics", "nics"), ("snapshots", "snapshots"),
             ("tags", "tags"), ("statistics", "statistics"), ("cdroms", "cdroms"),
             ("graphicsconsoles", "graphics_consoles"), ("watchdogs", "watchdogs"),
             ("hostdevices", "host_devices"), ("reporteddevices", "reported_devices"),
             ("affinitylabels", "affinity_labels"), ("permissions", "permissions"),
             ("numanodes", "numa_nodes"), ("checkpoints", "checkpoints"), ("backups", "backups")]
_HOST_LINKS = [("nics", "nics"), ("fenceagents", "agents"), ("statistics", "statistics"), ("tags", "tags"),
               ("permissions", "permissions"), ("affinitylabels", "affinity_labels")]

_DEFS = [
    # name, type, plural tag, singular tag, url segment, parent, links
    ("datacenters", T.DataCenter, "data_centers", "data_center", "datacenters", None,
     [("storagedomains", "storage_domains"), ("clusters", "clusters"), ("networks", "networks"),
      ("quotas", "quotas")]),
    ("clusters", T.Cluster, "clusters", "cluster", "clusters", None,
     [("affinitygroups", "affinity_groups"), ("networks", "networks"), ("permissions", "permissions")]),
    ("hosts", T.Host, "hosts", "host", "hosts", None, _HOST_LINKS),
    ("storagedomains", T.StorageDomain, "storage_domains", "storage_domain", "storagedomains", None,
     [("disks", "disks"), ("vms", "vms"), ("templates", "templates"), ("permissions", "permissions")]),
    ("templates", T.Template, "templates", "template", "templates", None,
     [("diskattachments", "disk_attachments"), ("nics", "nics"), ("permissions", "permissions"),
      ("tags", "tags")]),
    ("vms", T.Vm, "vms", "vm", "vms", None, _VM_LINKS),
    ("disks", T.Disk, "disks", "disk", "disks", None, [("permissions", "permissions"), ("statistics", "statistics"),
                                                       ("disksnapshots", "disk_snapshots")]),
    ("networks", T.Network, "networks", "network", "networks", None, [("vnicprofiles", "vnic_profiles")]),
    ("vnicprofiles", T.VnicProfile, "vnic_profiles", "vnic_profile", "vnicprofiles", None, []),
    ("networkfilters", T.NetworkFilter, "network_filters", "network_filter", "networkfilters", None, []),
    ("systemoptions", T.SystemOption, "system_options", "system_option", "options", None, []),
    ("events", T.Event, "events", "event", "events", None, []),
    ("jobs", T.Job, "jobs", "job", "jobs", None, [("steps", "steps")]),
    ("schedulingpolicies", T.SchedulingPolicy, "scheduling_policies", "scheduling_policy",
     "schedulingpolicies", None, []),
    ("operatingsystems", T.OperatingSystemInfo, "operation_systems", "operating_system",
     "operatingsystems", None, []),
    ("tags", T.Tag, "tags", "tag", "tags", None, []),
    ("imagetransfers", T.ImageTransfer, "image_transfers", "image_transfer", "imagetransfers", None, []),
    ("vmpools", T.VmPool, "vm_pools", "vm_pool", "vmpools", None, [("permissions", "permissions")]),
    ("instancetypes", T.InstanceType, "instance_types", "instance_type", "instancetypes", None,
     [("graphicsconsoles", "graphics_consoles"), ("nics", "nics"), ("watchdogs", "watchdogs")]),
    ("macpools", T.MacPool, "mac_pools", "mac_pool", "macpools", None, []),
    ("clusterlevels", T.ClusterLevel, "cluster_levels", "cluster_level", "clusterlevels", None, [], False),  # levels.py
    # children (stored)
    ("vm_disk_attachments", T.DiskAttachment, "disk_attachments", "disk_attachment", "diskattachments", "vms", []),
    ("vm_nics", T.Nic, "nics", "nic", "nics", "vms", [
        ("statistics", "statistics"), ("networkfilterparameters", "network_filter_parameters"),
        ("reporteddevices", "reported_devices")]),
    ("vm_snapshots", T.Snapshot, "snapshots", "snapshot", "snapshots", "vms", [("disks", "disks")]),
    ("vm_tags", T.Tag, "tags", "tag", "tags", "vms", []),
    ("vm_checkpoints", T.Checkpoint, "checkpoints", "checkpoint", "checkpoints", "vms", [("disks", "disks")]),
    ("vm_backups", T.Backup, "backups", "backup", "backups", "vms", [("disks", "disks")]),
    ("host_nics", T.HostNic, "host_nics", "host_nic", "nics", "hosts", [("statistics", "statistics")]),
    ("host_agents", T.Agent, "agents", "agent", "fenceagents", "hosts", []),
    ("host_tags", T.Tag, "tags", "tag", "tags", "hosts", []),
    ("cluster_affinity_groups", T.AffinityGroup, "affinity_groups", "affinity_group", "affinitygroups",
     "clusters", [("vms", "vms"), ("hosts", "hosts")]),
    ("template_disk_attachments", T.DiskAttachment, "disk_attachments", "disk_attachment", "diskattachments",
     "templates", []),
    ("template_nics", T.Nic, "nics", "nic", "nics", "templates", []),
    ("job_steps", T.Step, "steps", "step", "steps", "jobs", []),
    ("datacenter_quotas", T.Quota, "quotas", "quota", "quotas", "datacenters",      # quotas.py
     [("quotastoragelimits", "quota_storage_limits"), ("quotaclusterlimits", "quota_cluster_limits")]),
    # access (access.py) and affinity labels (labels.py)
    ("users", T.User, "users", "user", "users", None,
     [("sshpublickeys", "ssh_public_keys"), ("permissions", "permissions"), ("roles", "roles"), ("tags", "tags"),
      ("groups", "groups")]),
    ("groups", T.Group, "groups", "group", "groups", None,
     [("permissions", "permissions"), ("roles", "roles"), ("tags", "tags")]),
    ("roles", T.Role, "roles", "role", "roles", None, [("permits", "permits")]),
    ("domains", T.Domain, "domains", "domain", "domains", None, [("users", "users"), ("groups", "groups")]),
    ("permissions", T.Permission, "permissions", "permission", "permissions", None, []),
    ("user_ssh_public_keys", T.SshPublicKey, "ssh_public_keys", "ssh_public_key", "sshpublickeys", "users", []),
    ("affinitylabels", T.AffinityLabel, "affinity_labels", "affinity_label", "affinitylabels", None,
     [("vms", "vms"), ("hosts", "hosts")]),
]

COLLS = {}
TOP = {}        # url segment -> Coll (top level)
CHILD = {}      # (parent coll name, url segment) -> Coll
for _d in _DEFS:
    _c = Coll(*_d)
    COLLS[_c.name] = _c
    if _c.parent is None:
        TOP[_c.url] = _c
    else:
        CHILD[(_c.parent, _c.url)] = _c

# Read-only views served by handlers (not stored): (parent coll, segment) -> (type, plural tag)
VIEWS = {
    ("vms", "statistics"): (T.Statistic, "statistics"),
    ("hosts", "statistics"): (T.Statistic, "statistics"),
    ("disks", "statistics"): (T.Statistic, "statistics"),
    ("disks", "disksnapshots"): (T.DiskSnapshot, "disk_snapshots"),    # ova.py
    ("storagedomains", "disksnapshots"): (T.DiskSnapshot, "disk_snapshots"),    # transfers.py
    ("datacenter_quotas", "quotastoragelimits"): (T.QuotaStorageLimit, "quota_storage_limits"),    # quotas.py
    ("datacenter_quotas", "quotaclusterlimits"): (T.QuotaClusterLimit, "quota_cluster_limits"),
    ("clusterlevels", "clusterfeatures"): (T.ClusterFeature, "cluster_features"),
    ("vm_snapshots", "disks"): (T.Disk, "disks"),
    ("vm_nics", "statistics"): (T.Statistic, "statistics"),
    ("host_nics", "statistics"): (T.Statistic, "statistics"),
    ("vm_nics", "networkfilterparameters"): (T.NetworkFilterParameter, "network_filter_parameters"),
    ("vm_nics", "reporteddevices"): (T.ReportedDevice, "reported_devices"),
    ("vms", "cdroms"): (T.Cdrom, "cdroms"),
    ("instancetypes", "graphicsconsoles"): (T.GraphicsConsole, "graphics_consoles"),
    ("instancetypes", "nics"): (T.Nic, "nics"),
    ("instancetypes", "watchdogs"): (T.Watchdog, "watchdogs"),
    ("vms", "graphicsconsoles"): (T.GraphicsConsole, "graphics_consoles"),
    ("vms", "watchdogs"): (T.Watchdog, "watchdogs"),
    ("vms", "hostdevices"): (T.HostDevice, "host_devices"),
    ("vms", "reporteddevices"): (T.ReportedDevice, "reported_devices"),
    ("vms", "affinitylabels"): (T.AffinityLabel, "affinity_labels"),
    ("vms", "numanodes"): (T.VirtualNumaNode, "vm_numa_nodes"),
    ("hosts", "affinitylabels"): (T.AffinityLabel, "affinity_labels"),
    ("datacenters", "storagedomains"): (T.StorageDomain, "storage_domains"),
    ("datacenters", "clusters"): (T.Cluster, "clusters"),
    ("datacenters", "networks"): (T.Network, "networks"),
    ("clusters", "networks"): (T.Network, "networks"),
    ("storagedomains", "disks"): (T.Disk, "disks"),
    ("storagedomains", "vms"): (T.Vm, "vms"),
    ("storagedomains", "templates"): (T.Template, "templates"),
    ("networks", "vnicprofiles"): (T.VnicProfile, "vnic_profiles"),
    ("cluster_affinity_groups", "vms"): (T.Vm, "vms"),
    ("cluster_affinity_groups", "hosts"): (T.Host, "hosts"),
}
for _p in ("vms", "hosts", "clusters", "templates", "disks", "storagedomains"):
    VIEWS[(_p, "permissions")] = (T.Permission, "permissions")
for _p in ("datacenters", "networks", "users", "groups", "vnicprofiles"):  # access.py
    VIEWS[(_p, "permissions")] = (T.Permission, "permissions")
VIEWS.update({("roles", "permits"): (T.Permit, "permits"), ("users", "roles"): (T.Role, "roles"),
              ("groups", "roles"): (T.Role, "roles"), ("users", "groups"): (T.Group, "groups"),
              ("domains", "users"): (T.User, "users"), ("domains", "groups"): (T.Group, "groups"),
              ("affinitylabels", "vms"): (T.Vm, "vms"), ("affinitylabels", "hosts"): (T.Host, "hosts")})
VIEWS[("hosts", "storage")] = (T.HostStorage, "host_storages")   # infra.py: the LUNs the hosts see
VIEWS[("vm_checkpoints", "disks")] = (T.Disk, "disks")   # backups.py
VIEWS[("vm_backups", "disks")] = (T.Disk, "disks")


def ref(coll, oid, parent_id=None, **fields):
    """A reference to an object: its type with id and href (and optional extra fields)."""
    c = COLLS[coll]
    obj = c.type(id=oid, **fields)
    obj.href = c.href(oid, parent_id)
    return obj


def render(coll, obj, parent_id=None):
    """A wire copy of a stored object: href plus a link for every sub-collection."""
    c = COLLS[coll]
    out = copy.copy(obj)
    out.href = c.href(obj.id, parent_id)
    base = out.href
    for seg, attr in c.links:
        setattr(out, attr, ovirtsdk4.List("%s/%s" % (base, seg)))
    return out


def enum_value(v):
    return v.value if hasattr(v, "value") else v


def merge(target, source, skip=()):
    """Copy every attribute ``source`` sets onto ``target``; nested structs merge recursively."""
    for key, val in vars(source).items():
        name = key[1:] if key.startswith("_") else key
        if val is None or name in skip or name in ("href", "id"):
            continue
        cur = getattr(target, key, None)
        if isinstance(val, ovirtsdk4.Struct) and isinstance(cur, type(val)) and getattr(val, "id", None) is not None \
                and val.id != getattr(cur, "id", None):
            setattr(target, key, val)   # a reference to another object: replace it, do not merge into the old one
        elif isinstance(val, ovirtsdk4.Struct) and isinstance(cur, type(val)) and not isinstance(val, list):
            merge(cur, val)
        else:
            setattr(target, key, val)
    return target
