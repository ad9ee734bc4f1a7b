# SPDX-License-Identifier: GPL-3.0-or-later
"""The simulated Engine: every resource handler over one locked state."""

import re

from ovirtsdk4 import types as T

from . import search as S
from .core import CoreMixin, new_id
from .hosts import HostsMixin
from .infra import INFRA_FIELDS, InfraMixin
from .model import COLLS, ApiError, bad_request, ref, render
from .storage import StorageMixin
from .vms import RUNNING, VmsMixin
from .access import AccessMixin
from .jobs import JobsMixin
from .labels import LabelsMixin
from .ova import OvaMixin
from .quotas import QuotasMixin
from .levels import LevelsMixin
from .recovery import RecoveryMixin
from .templates import TemplatesMixin
from .clusters import ClustersMixin
from .networks import NetworksMixin
from .enginebackup import EngineBackupMixin
from .affinity import AffinityMixin
from .backups import BackupsMixin
from .transfers import TransfersMixin
from .dr import DrMixin
from .replication import ReplicationMixin

FAULT_KINDS = {
    "http_status": "answer a share (or count) of API requests with an HTTP status (default 503)",
    "drop_connection": "close the connection before or after processing a share (or count) of requests",
    "latency": "add delay_ms to a share of API requests",
    "host_crash": "host becomes non_responsive, its VMs unknown; after the grace period the Engine applies the "
                  "cluster fencing policy (target: host name; network_only: storage still reachable)",
    "host_recover": "a crashed host answers again (target: host name)",
    "vm_crash": "a running VM goes down with an error; HA VMs restart (target: vm name)",
    "storage_latency": "set a storage domain's IO latency in ms (target: sd name, latency_ms)",
    "storage_inactive": "a storage domain becomes inactive (target: sd name)",
    "storage_active": "a storage domain becomes active again (target: sd name)",
    "migration_failure": "the next migration of a VM fails (target: vm name, or '*')",
    "upgrade_failure": "the next upgrade of a host fails with event 841 (target: host name or '*')",
    "host_not_returning": "the next upgrade reboot of a host never comes back (target: host name or '*')",
    "snapshot_failure": "the next snapshot of a VM fails (target: vm name or '*')",
    "bmc_unreachable": "a host's BMC does not answer fence requests (target: host name)",
    "backup_failure": "the next backup of a VM fails (target: vm name or '*'; phase: starting, the default, or "
                      "finalizing); its temporary snapshot or scratch disks are cleaned up",
    "checkpoint_lost": "the dirty bitmaps of a VM's checkpoints are lost (an unclean shutdown): the Engine drops "
                       "the checkpoints and the next backup must be full (target: vm name)",
    "transfer_interrupted": "the next image transfer (or count of them; target: a disk alias or id, or '*') goes "
                            "through a relay in front of ovirt-imageio that drops the connection after after_bytes "
                            "bytes reached the client",
}
_ONE_SHOT = ("migration_failure", "upgrade_failure", "host_not_returning", "snapshot_failure", "bmc_unreachable",
             "backup_failure")


def _names(coll):
    return lambda e, o, f: ([o.name], "str")


def _refname(coll, attr):
    def get(e, o, f):
        r = getattr(o, attr, None)
        if r is None or r.id is None:
            return [], "str"
        if f.endswith(".id") or f.endswith("_id"):
            return [r.id], "str"
        target = e.store.get(coll, r.id)
        return ([target.name] if target is not None else []), "str"
    return get


def _attr(attr, kind="str"):
    def get(e, o, f):
        v = getattr(o, attr, None)
        v = v.value if hasattr(v, "value") else v
        return ([] if v is None else [v]), kind
    return get


def _vm_dc(e, o, f):
    c = e.store.get("clusters", o.cluster.id) if o.cluster else None
    dc = e.store.get("datacenters", c.data_center.id) if c else None
    return ([dc.name] if dc else []), "str"


def _vm_tags(e, o, f):
    return [t.name for t in e.store.list("vm_tags", o.id)], "str"


def _disk_vms(e, o, f):
    vid = e.store.parent_of("vm_disk_attachments", o.id)
    vm = e.store.get("vms", vid) if vid else None
    return ([vm.name] if vm else []), "str"


def _disk_sd(e, o, f):
    if not o.storage_domains:
        return [], "str"
    if f.endswith(".id"):
        return [o.storage_domains[0].id], "str"
    sd = e.store.get("storagedomains", o.storage_domains[0].id)
    return ([sd.name] if sd else []), "str"


def _event_ref(attr, coll):
    def get(e, o, f):
        r = getattr(o, attr, None)
        if r is None:
            return [], "str"
        if f.endswith(".id"):
            return [r.id], "str"
        target = e.store.get(coll, r.id)
        return ([target.name] if target else []), "str"
    return get


def _tpl_vms(e, o, f):
    """Templates cross-referenced by VM (``vm.name=X``): the templates the VMs are based on."""
    vms = [v for v in e.store.list("vms") if v.template is not None and v.template.id == o.id]
    return [v.id if f.endswith(".id") else v.name for v in vms], "str"


def _tpl_children(e, o, f):
    return [sum(1 for v in e.store.list("vms") if v.template is not None and v.template.id == o.id)], "num"


def _job_corr(e, o, f):
    cid = e.store.extra.get("jobs", {}).get(o.id, {}).get("correlation_id")
    return ([cid] if cid else []), "str"


def _mb(attr):
    def get(e, o, f):
        v = getattr(o, attr, None)
        return ([] if v is None else [v // (1 << 20)]), "num"
    return get


# Search fields of the Engine's *ConditionFieldAutoCompleter / cross references for infrastructure (infra.py).
_INFRA_HOST_FIELDS, _INFRA_CLUSTER_FIELDS, _INFRA_SD_FIELDS, _INFRA_DC_FIELDS, _INFRA_NETWORK_FIELDS = (
    INFRA_FIELDS[k] for k in ("hosts", "clusters", "storagedomains", "datacenters", "networks"))

FIELDS = {
    "vms": {"name": _names("vms"), "id": _attr("id"), "description": _attr("description"),
            "pool": lambda e, o, f: ([e.store.get("vmpools", o.vm_pool.id).name] if o.vm_pool is not None and
                                     e.store.get("vmpools", o.vm_pool.id) else [], "str"),
            "comment": _attr("comment"), "status": _attr("status", "enum"),
            "cluster": _refname("clusters", "cluster"), "clusters.name": _refname("clusters", "cluster"),
            "cluster.name": _refname("clusters", "cluster"), "host": _refname("hosts", "host"),
            "host.name": _refname("hosts", "host"), "hosts.name": _refname("hosts", "host"),
            "host.id": _refname("hosts", "host"), "template": _refname("templates", "template"),
            "template.name": _refname("templates", "template"), "datacenter": _vm_dc, "tag": _vm_tags,
            "memory": _mb("memory"), "type": _attr("type", "enum"), "os": lambda e, o, f: (
                [o.os.type] if o.os and o.os.type else [], "str"),
            "creationdate": _attr("creation_time")},
    "hosts": {"name": _names("hosts"), "id": _attr("id"), "address": _attr("address"),
              "status": _attr("status", "enum"), "cluster": _refname("clusters", "cluster"),
              "cluster.name": _refname("clusters", "cluster"), "clusters.name": _refname("clusters", "cluster"),
              "update_available": _attr("update_available", "bool"),
              "datacenter": _vm_dc, "spm_id": lambda e, o, f: ([o.spm.priority] if o.spm else [], "num"),
              **_INFRA_HOST_FIELDS},
    "events": {"type": _attr("code", "num"), "code": _attr("code", "num"), "severity": _attr("severity", "enum"),
               "id": _attr("id"), "vm.id": _event_ref("vm", "vms"), "vm.name": _event_ref("vm", "vms"),
               "vms.name": _event_ref("vm", "vms"), "host.id": _event_ref("host", "hosts"),
               "host.name": _event_ref("host", "hosts"), "hosts.name": _event_ref("host", "hosts"),
               "cluster.name": _event_ref("cluster", "clusters"), "correlation_id": _attr("correlation_id"),
               "message": _attr("description"), "description": _attr("description"),
               "time": lambda e, o, f: ([o.time.strftime("%Y-%m-%d %H:%M:%S")] if o.time else [], "str")},
    "disks": {"name": _attr("alias"), "alias": _attr("alias"), "id": _attr("id"), "status": _attr("status", "enum"),
              "vm_names": _disk_vms, "storage.name": _disk_sd, "storage": _disk_sd, "storage.id": _disk_sd,
              "description": _attr("description")},
    "templates": {"name": _names("templates"), "id": _attr("id"), "status": _attr("status", "enum"),
                  "cluster": _refname("clusters", "cluster"), "comment": _attr("comment"),
                  "description": _attr("description"), "datacenter": _vm_dc, "mem": _mb("memory"),
                  "os": lambda e, o, f: ([o.os.type] if o.os and o.os.type else [], "str"),
                  "creationdate": _attr("creation_time"), "childcount": _tpl_children,
                  "vm.name": _tpl_vms, "vms.name": _tpl_vms, "vm.id": _tpl_vms},
    "storagedomains": {"name": _names("storagedomains"), "id": _attr("id"), "type": _attr("type", "enum"),
                       **_INFRA_SD_FIELDS},
    "clusters": {"name": _names("clusters"), "id": _attr("id"), "datacenter": _refname("datacenters", "data_center"),
                 "datacenter.name": _refname("datacenters", "data_center"), **_INFRA_CLUSTER_FIELDS},
    "datacenters": {"name": _names("datacenters"), "id": _attr("id"), "status": _attr("status", "enum"),
                    "clusters.name": lambda e, o, f: ([c.name for c in e.store.list("clusters")
                                                       if c.data_center and c.data_center.id == o.id], "str"),
                    **_INFRA_DC_FIELDS},
    "networks": {"name": _names("networks"), "id": _attr("id"),
                 "datacenter": _refname("datacenters", "data_center"), **_INFRA_NETWORK_FIELDS},
    "jobs": {"correlation_id": _job_corr, "status": _attr("status", "enum"), "description": _attr("description"),
             "id": _attr("id")},
    "tags": {"name": _names("tags"), "id": _attr("id")},
    "vmpools": {"name": _names("vmpools"), "id": _attr("id"), "cluster": _refname("clusters", "cluster"),
                "description": _attr("description"), "type": _attr("type", "enum")},
    "instancetypes": {"name": _names("instancetypes"), "id": _attr("id"), "description": _attr("description")},
    "users": {"name": _names("users"), "usrname": _attr("user_name"), "id": _attr("id"),
              "lastname": _attr("last_name"), "email": _attr("email"), "department": _attr("department"),
              "directory": lambda e, o, f: ([o.domain.name] if o.domain and o.domain.name else [], "str")},
    "groups": {"name": _names("groups"), "id": _attr("id"),
               "directory": lambda e, o, f: ([o.domain.name] if o.domain and o.domain.name else [], "str")},
    "vnicprofiles": {"name": _names("vnicprofiles"), "id": _attr("id")},
}
SEARCHABLE = set(FIELDS)


class Engine(InfraMixin, VmsMixin, HostsMixin, StorageMixin, TemplatesMixin, ClustersMixin, NetworksMixin,
             AffinityMixin, AccessMixin, LabelsMixin, JobsMixin, OvaMixin, QuotasMixin, LevelsMixin, RecoveryMixin,
             TransfersMixin, BackupsMixin, EngineBackupMixin, DrMixin, ReplicationMixin, CoreMixin):
    BLANK_ID = "00000000-0000-0000-0000-000000000000"
    FENCE_TYPES = ("ipmilan", "idrac", "ilo", "ilo2", "ilo3", "ilo4", "ilo5", "drac5", "drac7", "rsa", "rsb",
                   "apc", "apc_snmp", "bladecenter", "cisco_ucs", "eps", "hpblade", "redfish", "wti")

    def __init__(self, state_dir, seed="default", time_scale=1.0, clock_mode="free", tunables=None):
        existed = self._init_core(state_dir, time_scale, clock_mode)
        self.tunables = dict(tunables or {})
        self.tunables.update(self.store.meta.get("tunables", {}))
        self.faults = list(self.store.meta.get("faults", []))
        self.lazy_images = bool(self.store.meta.get("lazy_images", False))
        self.seed_name = self.store.meta.get("seed", seed)
        if not existed:
            from . import seeds
            self.lazy_images = seed == "large"
            self.store.set_meta("lazy_images", self.lazy_images)
            self.store.set_meta("seed", seed)
            seeds.SEEDS[seed](self)
            self.schedule_update_checks()
            self.schedule_engine_backup_check()
            self.persist()
        else:
            self.recovered = self.remove_unacknowledged_images()
            self.recovered_transfers = self.recover_transfers()
            self.recovered_backups = self.recover_backups()
        with self.lock:
            self.ensure_ovf_timer()      # dr.py: the OVF store update (OvfDataUpdater)

    # -- faults ---------------------------------------------------------------------------------
    def add_fault(self, spec):
        kind = spec.get("kind")
        if kind not in FAULT_KINDS:
            raise bad_request("Invalid value '%s' for field 'kind': allowed values are %s" % (
                kind, ", ".join(sorted(FAULT_KINDS))))
        spec = dict(spec)
        spec["id"] = new_id()
        target = spec.get("target")
        if kind in ("host_crash", "host_recover"):
            host = self._target("hosts", target)
            if kind == "host_crash":
                self.crash_host(host, network_only=bool(spec.get("network_only")))
            else:
                self.recover_host(host)
            return spec
        if kind == "vm_crash":
            self.crash_vm(self._target("vms", target))
            return spec
        if kind == "checkpoint_lost":
            self.lose_checkpoints(self._target("vms", target))
            return spec
        if kind in ("storage_latency", "storage_inactive", "storage_active"):
            sd = self._target("storagedomains", target)
            x = self.store.x("storagedomains", sd.id)
            if kind == "storage_latency":
                x["latency_ms"] = float(spec.get("latency_ms", 50))
            else:
                x["status"] = "inactive" if kind == "storage_inactive" else "active"
                self.emit(980 if kind == "storage_inactive" else 966,
                          "Storage Domain %s is %s." % (sd.name, x["status"]),
                          "error" if kind == "storage_inactive" else "normal", storage_domain=sd.id)
                if kind == "storage_inactive":
                    self._pause_vms_on(sd.id)
            self.store.touch("storagedomains", sd.id)
            return spec
        if kind in _ONE_SHOT and target not in (None, "*"):
            coll = "vms" if kind in ("migration_failure", "snapshot_failure", "backup_failure") else "hosts"
            self._target(coll, target)
        self.faults.append(spec)
        self.store.set_meta("faults", self.faults)
        return spec

    def _target(self, coll, name):
        obj = self.by_name(coll, name) or self.store.get(coll, name or "")
        if obj is None:
            raise ApiError(404, "No %s named '%s'" % (COLLS[coll].singular, name))
        return obj

    def _pause_vms_on(self, sd_id):
        for vm in self.store.list("vms"):
            if vm.status == T.VmStatus.UP and sd_id in self._vm_domains(vm.id):
                self._set_status(vm, T.VmStatus.PAUSED)
                self.emit(145, "VM %s has been paused due to storage I/O problem." % vm.name, "error", vm=vm.id,
                          cluster=vm.cluster.id)

    def clear_faults(self):
        self.faults = []
        self.store.set_meta("faults", self.faults)

    def take_fault(self, kind, consume=True, **match):
        for f in list(self.faults):
            if f["kind"] != kind:
                continue
            target = f.get("target", "*")
            if target not in (None, "*") and target not in match.values():
                continue
            if consume:
                count = int(f.get("count", 1)) - 1
                if count <= 0:
                    self.faults.remove(f)
                else:
                    f["count"] = count
                self.store.set_meta("faults", self.faults)
            return f
        return None

    def api_faults(self):
        return [f for f in self.faults if f["kind"] in ("http_status", "drop_connection", "latency")]

    # -- listing --------------------------------------------------------------------------------
    def list_coll(self, coll, parent, query):
        from .routes import handler as route   # routes imports this module
        handler = route(self, "list", coll)
        if handler is not None:
            items = handler(parent, query) if COLLS[coll].parent is None else handler(parent, query)
        elif coll == "vms":
            items = [self.vm_rendered(v, query) for v in self._searched("vms", query)]
            return self._page(items, query, presorted=True)
        else:
            items = self.list_generic(coll, parent)
        return self._filter(coll, items, query)

    def _searched(self, coll, query):
        """Search stored objects before rendering (cheap for 10,000 VMs)."""
        q = S.parse(query.get("search"))
        objs = self.store.list(coll)
        if q.tree is not None:
            cs = query.get("case_sensitive", "true").lower() != "false"
            name = S.exact_name(q)
            if name is not None:
                objs = [o for o in objs if o.name == name] if cs else \
                    [o for o in objs if (o.name or "").lower() == name.lower()]
            else:
                fields = FIELDS.get(coll, {})
                objs = [o for o in objs if q.matches(self._resolver(coll, fields, o), cs)]
        if q.sortby:
            objs = self._sorted(coll, objs, q)
        query["_page"] = q.page
        return objs

    def _resolver(self, coll, fields, obj):
        def resolve(field):
            fn = fields.get(field)
            if fn is None:
                raise bad_request("Cannot search %s: unknown field '%s'. Searchable fields: %s" % (
                    coll, field, ", ".join(sorted(fields))))
            return fn(self, obj, field)
        return resolve

    def _sorted(self, coll, objs, q):
        fields = FIELDS.get(coll, {})
        if q.sortby not in fields:
            raise bad_request("Cannot sort %s by unknown field '%s'" % (coll, q.sortby))

        def key(o):
            vals, kind = fields[q.sortby](self, o, q.sortby)
            v = vals[0] if vals else ""
            return (0, v) if kind == "num" else (1, str(v).lower())
        return sorted(objs, key=key, reverse=q.desc)

    def _filter(self, coll, items, query):
        if coll in SEARCHABLE and query.get("search"):
            q = S.parse(query.get("search"))
            cs = query.get("case_sensitive", "true").lower() != "false"
            fields = FIELDS[coll]
            items = [i for i in items if q.matches(self._resolver(coll, fields, i), cs)]
            if q.sortby:
                items = self._sorted(coll, items, q)
            query["_page"] = q.page
        if coll == "events":
            since = query.get("from")
            if since is not None:
                if not re.match(r"^\d+$", since):
                    raise bad_request("Invalid value '%s' for parameter 'from'" % since)
                items = [i for i in items if int(i.id) > int(since)]
            items = sorted(items, key=lambda e: -int(e.id))
        return self._page(items, query)

    @staticmethod
    def _page(items, query, presorted=False):
        mx = query.get("max")
        size = None
        if mx not in (None, ""):
            try:
                size = int(mx)
            except ValueError:
                raise bad_request("Invalid value '%s' for parameter 'max'" % mx)
            if size < 0:
                size = None
        page = query.get("_page")
        if page:
            per = size or 100
            return items[(page - 1) * per: page * per]
        return items if size is None else items[:size]

    # -- events ---------------------------------------------------------------------------------
    def add_events(self, parent, ev, query):
        missing = [f for f, v in (("origin", ev.origin), ("severity", ev.severity), ("customId", ev.custom_id),
                                  ("description", ev.description)) if v is None]
        if missing:  # BackendEventsResource.add: validateParameters
            from .jobs import incomplete
            raise incomplete("Event", missing)
        code = {T.LogSeverity.NORMAL: 12000, T.LogSeverity.WARNING: 12001,
                T.LogSeverity.ERROR: 12002, T.LogSeverity.ALERT: 12003}[ev.severity]
        out = self.emit(code, ev.description, ev.severity.value, origin=ev.origin, custom_id=ev.custom_id,
                        vm=ev.vm.id if ev.vm else None, host=ev.host.id if ev.host else None,
                        cluster=ev.cluster.id if ev.cluster else None)
        return render("events", out)

    def remove_events(self, parent, eid, query):
        self.remove_generic("events", eid)

    # -- api root ---------------------------------------------------------------------------------
    def api_root(self):
        vms = self.store.list("vms")
        hosts = self.store.list("hosts")
        api = T.Api(
            product_info=T.ProductInfo(name="oVirt Engine (simulated)", vendor="ovirt-engine-sim",
                                       version=T.Version(major=4, minor=5, build=7, revision=0,
                                                         full_version="4.5.7-sim")),
            special_objects=T.SpecialObjects(blank_template=ref("templates", self.BLANK_ID),
                                             root_tag=ref("tags", "00000000-0000-0000-0000-000000000000")),
            summary=T.ApiSummary(
                vms=T.ApiSummaryItem(active=sum(1 for v in vms if v.status in RUNNING), total=len(vms)),
                hosts=T.ApiSummaryItem(active=sum(1 for h in hosts if h.status == T.HostStatus.UP), total=len(hosts)),
                storage_domains=T.ApiSummaryItem(active=self.store.count("storagedomains"),
                                                 total=self.store.count("storagedomains")),
                users=T.ApiSummaryItem(active=1, total=1)),
            time=self.now_dt(),
            engine_backup=self.engine_backup_info(),
            authenticated_user=T.User(id="fdfc627c-d875-11e0-90f0-83df133b58cc", name="admin",
                                      user_name="admin@internal-authz"))
        return api

    def new_cluster(self, name, dc_id):
        from .seeds import new_cluster
        return new_cluster(self, name, dc_id)
