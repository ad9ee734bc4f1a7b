# SPDX-License-Identifier: GPL-3.0-or-later
"""Quotas of a data center (``/datacenters/{id}/quotas``) with their storage and cluster limits.

As in the Engine (AddEmptyStoragePoolCommand, QuotaCRUDCommand, QuotaValidator, BackendQuota*Resource,
QuotaMapper): every data center has a ``Default`` quota (unlimited, read-only); a new quota without limits gets
an unlimited global storage and cluster limit; a limit is either global (its id is the quota's) or specific to
a storage domain / cluster (its id is the domain's / cluster's), never both for one quota; adding or removing a
limit is an update of the quota. Consumption is not counted and nothing is enforced (``quota_mode`` is kept)."""

from ovirtsdk4 import types as T

from .core import new_id
from .jobs import incomplete
from .model import ApiError, conflict, merge, ref, render

UNLIMITED = -1
GRACE, THRESHOLD = 20, 80      # ConfigValues QuotaGrace*/QuotaThreshold* (general)
_SPECIFIC_AND_GENERAL = ("Limitation can not be configured as specific and general for the same Quota. Please "
                         "choose whether the limitation should be enforced on the Data Center (global) or for "
                         "specific storage domain or cluster.")


class QuotasMixin:
    def _dc_quotas(self, dcid):
        """The data center's quotas, its Default quota first made if missing (AddEmptyStoragePoolCommand)."""
        self.must("datacenters", dcid)
        quotas = self.store.list("datacenter_quotas", dcid)
        if not any(self.store.x("datacenter_quotas", q.id).get("default") for q in quotas):
            q = T.Quota(id=new_id(), name="Default", description="Default unlimited quota",
                        data_center=ref("datacenters", dcid), cluster_hard_limit_pct=GRACE,
                        storage_hard_limit_pct=GRACE, cluster_soft_limit_pct=THRESHOLD,
                        storage_soft_limit_pct=THRESHOLD)
            self.store.put("datacenter_quotas", q, parent=dcid, extra={
                "default": True, "storage_global": UNLIMITED, "storage": {},
                "cluster_global": [UNLIMITED, UNLIMITED], "cluster": {}})
            quotas = self.store.list("datacenter_quotas", dcid)
        return quotas

    def list_datacenter_quotas(self, dcid, query):
        return [render("datacenter_quotas", q, dcid) for q in self._dc_quotas(dcid)]

    def get_datacenter_quotas(self, dcid, qid, query):
        self._dc_quotas(dcid)
        return render("datacenter_quotas", self.must("datacenter_quotas", qid, dcid), dcid)

    def add_datacenter_quotas(self, dcid, quota, query):
        if not quota.name:
            raise incomplete("Quota", ["name"])
        if any(q.name == quota.name for q in self._dc_quotas(dcid)):
            raise conflict("Cannot add Quota. The Quota name is already in use, please choose a unique name and try "
                           "again.")
        stored = T.Quota(id=new_id(), name=quota.name, description=quota.description or "",
                         data_center=ref("datacenters", dcid),
                         cluster_hard_limit_pct=quota.cluster_hard_limit_pct or GRACE,
                         storage_hard_limit_pct=quota.storage_hard_limit_pct or GRACE,
                         cluster_soft_limit_pct=quota.cluster_soft_limit_pct or THRESHOLD,
                         storage_soft_limit_pct=quota.storage_soft_limit_pct or THRESHOLD)
        # QuotaCRUDCommand.fillQuotaParameter: no limits given → unlimited global limits
        self.store.put("datacenter_quotas", stored, parent=dcid, extra={
            "default": False, "storage_global": UNLIMITED, "storage": {},
            "cluster_global": [UNLIMITED, UNLIMITED], "cluster": {}})
        self.emit(3000, "Quota %s has been added by admin@internal-authz." % stored.name, data_center=dcid)
        return render("datacenter_quotas", stored, dcid)

    def _quota_for_update(self, dcid, qid, what="update"):
        self._dc_quotas(dcid)
        q = self.must("datacenter_quotas", qid, dcid)
        if self.store.x("datacenter_quotas", qid).get("default"):
            raise conflict("Cannot %s Quota. Default quota cannot be changed." % what)
        return q

    def update_datacenter_quotas(self, dcid, qid, quota, query):
        stored = self._quota_for_update(dcid, qid)
        if quota.name and quota.name != stored.name and any(
                q.name == quota.name for q in self._dc_quotas(dcid) if q.id != qid):
            raise conflict("Cannot update Quota. The Quota name is already in use, please choose a unique name and "
                           "try again.")
        merge(stored, quota, skip=("data_center", "vms", "disks", "users", "quota_cluster_limits",
                                   "quota_storage_limits", "permissions"))
        self.store.touch("datacenter_quotas", qid)
        self.emit(3002, "Quota %s has been updated by admin@internal-authz." % stored.name, data_center=dcid)
        return render("datacenter_quotas", stored, dcid)

    def remove_datacenter_quotas(self, dcid, qid, query):
        stored = self._quota_for_update(dcid, qid, "remove")
        dc = self.store.get("datacenters", dcid)
        mode = getattr(dc.quota_mode, "value", dc.quota_mode) if dc is not None else "disabled"
        used = any(getattr(o, "quota", None) is not None and o.quota.id == qid
                   for coll in ("vms", "disks") for o in self.store.list(coll))
        if used and mode not in (None, "disabled"):
            raise conflict("Cannot remove Quota. Quota is still in use by a VM or a disk and Data Center's Quota "
                           "enforcement is enabled.")
        self.store.delete("datacenter_quotas", qid)
        self.emit(3004, "Quota %s has been deleted by admin@internal-authz." % stored.name, data_center=dcid)

    # -- limits (an update of the quota: UpdateQuotaCommand) --------------------------------------------
    def _quota_of(self, qid):
        q = self.store.get("datacenter_quotas", qid)
        if q is None:
            raise ApiError(404)
        return q, self.store.parent_of("datacenter_quotas", qid)

    def _update_limits(self, qid, x):
        """QuotaCRUDCommand.init (empty → unlimited global) and QuotaValidator.isValid."""
        if x["storage_global"] is None and not x["storage"]:
            x["storage_global"] = UNLIMITED
        if x["cluster_global"] is None and not x["cluster"]:
            x["cluster_global"] = [UNLIMITED, UNLIMITED]
        if (x["storage_global"] is not None and x["storage"]) or (x["cluster_global"] is not None and x["cluster"]):
            raise conflict("Cannot update Quota. " + _SPECIFIC_AND_GENERAL)
        stored = self.store.x("datacenter_quotas", qid)
        stored.update(x)
        q, dcid = self._quota_of(qid)
        self.store.touch("datacenter_quotas", qid)
        self.emit(3002, "Quota %s has been updated by admin@internal-authz." % q.name, data_center=dcid)

    def _limits_copy(self, qid):
        x = self.store.x("datacenter_quotas", qid)
        return {"default": x.get("default", False), "storage_global": x.get("storage_global"),
                "storage": dict(x.get("storage") or {}), "cluster_global": x.get("cluster_global"),
                "cluster": dict(x.get("cluster") or {})}

    def _storage_limit(self, qid, lid):
        q, dcid = self._quota_of(qid)
        x = self.store.x("datacenter_quotas", qid)
        quota = T.Quota(id=qid, data_center=T.DataCenter(id=dcid))
        if lid == qid:
            size, sd = x.get("storage_global"), None
        else:
            size, sd = (x.get("storage") or {}).get(lid), ref("storagedomains", lid)
        out = T.QuotaStorageLimit(id=lid, quota=quota, storage_domain=sd, limit=size, usage=0.0)
        out.href = "%s/quotastoragelimits/%s" % (render("datacenter_quotas", q, dcid).href, lid)
        return out

    def _cluster_limit(self, qid, lid):
        q, dcid = self._quota_of(qid)
        x = self.store.x("datacenter_quotas", qid)
        quota = T.Quota(id=qid, data_center=T.DataCenter(id=dcid))
        if lid == qid:
            (vcpu, mem_mb), cluster = x.get("cluster_global"), None
        else:
            (vcpu, mem_mb), cluster = (x.get("cluster") or {}).get(lid), ref("clusters", lid)
        out = T.QuotaClusterLimit(id=lid, quota=quota, cluster=cluster, vcpu_limit=vcpu, vcpu_usage=0,
                                  memory_limit=float(mem_mb) if mem_mb == UNLIMITED else mem_mb / 1024.0,
                                  memory_usage=0.0)
        out.href = "%s/quotaclusterlimits/%s" % (render("datacenter_quotas", q, dcid).href, lid)
        return out

    def view_datacenter_quotas_quotastoragelimits(self, qid, query):
        self._quota_of(qid)
        x = self.store.x("datacenter_quotas", qid)
        ids = [qid] if x.get("storage_global") is not None else list((x.get("storage") or {}).keys())
        return [self._storage_limit(qid, lid) for lid in ids]

    def view_datacenter_quotas_quotaclusterlimits(self, qid, query):
        self._quota_of(qid)
        x = self.store.x("datacenter_quotas", qid)
        ids = [qid] if x.get("cluster_global") is not None else list((x.get("cluster") or {}).keys())
        return [self._cluster_limit(qid, lid) for lid in ids]

    def viewadd_datacenter_quotas_quotastoragelimits(self, qid, limit, query):
        q, dcid = self._quota_of(qid)
        self._quota_for_update(dcid, qid)
        x = self._limits_copy(qid)
        size = limit.limit if limit.limit is not None else None
        if limit.storage_domain is not None and limit.storage_domain.id:
            sd = self.resolve("storagedomains", limit.storage_domain, "Quota")
            x["storage"][sd.id] = size
            lid = sd.id
        else:
            x["storage_global"] = size
            lid = qid
        self._update_limits(qid, x)
        return self._storage_limit(qid, lid)

    def viewadd_datacenter_quotas_quotaclusterlimits(self, qid, limit, query):
        q, dcid = self._quota_of(qid)
        self._quota_for_update(dcid, qid)
        x = self._limits_copy(qid)
        mem = None
        if limit.memory_limit is not None:
            mem = UNLIMITED if limit.memory_limit < 0 else int(limit.memory_limit * 1024)
        value = [limit.vcpu_limit, mem]
        if limit.cluster is not None and limit.cluster.id:
            cluster = self.resolve("clusters", limit.cluster, "Quota")
            x["cluster"][cluster.id] = value
            lid = cluster.id
        else:
            x["cluster_global"] = value
            lid = qid
        self._update_limits(qid, x)
        return self._cluster_limit(qid, lid)

    def viewget_datacenter_quotas_quotastoragelimits(self, qid, lid, query):
        for item in self.view_datacenter_quotas_quotastoragelimits(qid, query):
            if item.id == lid:
                return item
        # BackendQuotaLimitResource.get maps the quota onto a limit of that id, whatever it is
        return self._limit_of_id(qid, lid, T.QuotaStorageLimit, "quotastoragelimits")

    def viewget_datacenter_quotas_quotaclusterlimits(self, qid, lid, query):
        for item in self.view_datacenter_quotas_quotaclusterlimits(qid, query):
            if item.id == lid:
                return item
        return self._limit_of_id(qid, lid, T.QuotaClusterLimit, "quotaclusterlimits")

    def _limit_of_id(self, qid, lid, typ, seg):
        """BackendQuotaLimitResource.get maps the quota onto a limit with the id asked for: an unknown id
        answers a limit with nothing but that id."""
        q, dcid = self._quota_of(qid)
        out = typ(id=lid)
        out.href = "%s/%s/%s" % (render("datacenter_quotas", q, dcid).href, seg, lid)
        return out

    def viewremove_datacenter_quotas_quotastoragelimits(self, qid, lid, query):
        q, dcid = self._quota_of(qid)
        self._quota_for_update(dcid, qid)
        x = self._limits_copy(qid)
        if lid == qid:
            if x["storage_global"] is None:
                raise ApiError(404)
            x["storage_global"] = None
        elif lid in x["storage"]:
            del x["storage"][lid]
        else:
            raise ApiError(404)
        self._update_limits(qid, x)

    def viewremove_datacenter_quotas_quotaclusterlimits(self, qid, lid, query):
        q, dcid = self._quota_of(qid)
        self._quota_for_update(dcid, qid)
        x = self._limits_copy(qid)
        if lid == qid:
            if x["cluster_global"] is None:
                raise ApiError(404)
            x["cluster_global"] = None
        elif lid in x["cluster"]:
            del x["cluster"][lid]
        else:
            raise ApiError(404)
        self._update_limits(qid, x)

    # -- the Administration Portal (admin API) ---------------------------------------------------------
    def portal_quota(self, data):
        """What the Administration Portal's quota dialog does and the REST API cannot: save a quota whose
        storage / cluster limits are per storage domain / cluster (UpdateQuota with no global limit).
        ``{"data_center": NAME, "name": NAME, "storage": {SD: GiB|-1}, "clusters": {CLUSTER: [vcpu, GiB]}}``;
        the quota is added first if missing."""
        dc = self._target("datacenters", data.get("data_center"))
        quota = next((q for q in self._dc_quotas(dc.id) if q.name == data.get("name")), None)
        if quota is None:
            quota = self.add_datacenter_quotas(dc.id, T.Quota(name=data.get("name"),
                                                              description=data.get("description")), {})
        x = self._limits_copy(quota.id)
        if "storage" in data:
            x["storage"] = {self._target("storagedomains", k).id: int(v) for k, v in data["storage"].items()}
            x["storage_global"] = None
        if "clusters" in data:
            x["cluster"] = {self._target("clusters", k).id: [int(v[0]), UNLIMITED if v[1] < 0 else int(v[1] * 1024)]
                            for k, v in data["clusters"].items()}
            x["cluster_global"] = None
        self._update_limits(quota.id, x)
        return {"id": quota.id, "name": quota.name, "storage": x["storage"], "clusters": x["cluster"]}
