# SPDX-License-Identifier: GPL-3.0-or-later
"""Affinity groups of a cluster: VMs and hosts, positive/negative, enforcing rules."""

from ovirtsdk4 import types as T

from .core import new_id
from .model import ApiError, bad_request, conflict, merge, ref, render


class AffinityMixin:
    def add_cluster_affinity_groups(self, cid, group, query):
        self.must("clusters", cid)
        if not group.name:
            raise bad_request("Cannot add Affinity Group. The following field is required: name")
        if any(g.name == group.name for g in self.store.list("cluster_affinity_groups", cid)):
            raise conflict("Cannot add Affinity Group. Affinity Group name already exists.")
        stored = T.AffinityGroup(id=new_id(), name=group.name, description=group.description or "",
                                 cluster=ref("clusters", cid), priority=group.priority or 1.0)
        merge(stored, group, skip=("cluster", "vms", "hosts"))
        _rules_enabled(stored, group)
        if stored.vms_rule is None:
            pos = True if group.positive is None else group.positive
            enf = bool(group.enforcing)
            stored.vms_rule = T.AffinityRule(enabled=True, positive=pos, enforcing=enf)
        if stored.hosts_rule is None:
            stored.hosts_rule = T.AffinityRule(enabled=False, positive=False, enforcing=False)
        stored.positive = stored.vms_rule.positive
        stored.enforcing = stored.vms_rule.enforcing
        stored.vms = [ref("vms", self.resolve("vms", v, "Affinity Group").id) for v in (group.vms or [])]
        stored.hosts = [ref("hosts", self.resolve("hosts", h, "Affinity Group").id) for h in (group.hosts or [])]
        self.store.put("cluster_affinity_groups", stored, parent=cid)
        return self._group_out(stored, cid)

    def update_cluster_affinity_groups(self, cid, gid, group, query):
        stored = self.must("cluster_affinity_groups", gid, cid)
        vms, hosts = group.vms, group.hosts
        group.vms = group.hosts = None
        merge(stored, group, skip=("cluster",))
        _rules_enabled(stored, group)
        if group.positive is not None or group.enforcing is not None:
            rule = stored.vms_rule or T.AffinityRule(enabled=True)
            if group.positive is not None:
                rule.positive = group.positive
            if group.enforcing is not None:
                rule.enforcing = group.enforcing
            stored.vms_rule = rule
        stored.positive, stored.enforcing = stored.vms_rule.positive, stored.vms_rule.enforcing
        if vms is not None:
            stored.vms = [ref("vms", self.resolve("vms", v, "Affinity Group").id) for v in vms]
        if hosts is not None:
            stored.hosts = [ref("hosts", self.resolve("hosts", h, "Affinity Group").id) for h in hosts]
        self.store.touch("cluster_affinity_groups", gid)
        return self._group_out(stored, cid)

    def _group_out(self, group, cid):
        """AffinityGroupMapper: both rules always complete, the VMs and hosts inline (ids) as well as linked."""
        import ovirtsdk4
        out = render("cluster_affinity_groups", group, cid)
        rules = []
        for given, default_enabled in ((group.vms_rule, True), (group.hosts_rule, False)):
            given = given or T.AffinityRule()
            enabled = (given.positive is not None or default_enabled) if given.enabled is None else given.enabled
            rules.append(T.AffinityRule(enabled=enabled, enforcing=bool(given.enforcing),
                                        positive=bool(given.positive)))
        out.vms_rule, out.hosts_rule = rules
        out.positive = rules[0].positive if rules[0].enabled else None
        out.enforcing = rules[0].enforcing
        for attr, coll in (("vms", "vms"), ("hosts", "hosts")):
            lst = ovirtsdk4.List("%s/%s" % (out.href, attr))
            lst.extend(ref(coll, r.id) for r in (getattr(group, attr) or []))
            setattr(out, attr, lst)
        return out

    def list_cluster_affinity_groups(self, cid, query):
        return [self._group_out(g, cid) for g in self.store.list("cluster_affinity_groups", cid)]

    def get_cluster_affinity_groups(self, cid, gid, query):
        return self._group_out(self.must("cluster_affinity_groups", gid, cid), cid)

    def _group(self, gid):
        group = self.store.get("cluster_affinity_groups", gid)
        if group is None:
            raise ApiError(404)
        return group, self.store.parent_of("cluster_affinity_groups", gid)

    def view_cluster_affinity_groups_vms(self, gid, query):
        group = self._group(gid)[0]
        return [render("vms", self.store.get("vms", v.id)) for v in (group.vms or []) if self.store.get("vms", v.id)]

    def viewadd_cluster_affinity_groups_vms(self, gid, vm, query):
        group = self._group(gid)[0]
        target = self.resolve("vms", vm, "Affinity Group")
        if any(v.id == target.id for v in (group.vms or [])):
            raise conflict("Cannot add VM to Affinity Group. VM is already a member.")
        group.vms = list(group.vms or []) + [ref("vms", target.id)]
        self.store.touch("cluster_affinity_groups", gid)
        return render("vms", target)

    def viewremove_cluster_affinity_groups_vms(self, gid, vid, query):
        group = self._group(gid)[0]
        if not any(v.id == vid for v in (group.vms or [])):
            raise ApiError(404)
        group.vms = [v for v in group.vms if v.id != vid]
        self.store.touch("cluster_affinity_groups", gid)

    def view_cluster_affinity_groups_hosts(self, gid, query):
        group = self._group(gid)[0]
        return [render("hosts", self.store.get("hosts", h.id)) for h in (group.hosts or [])]

    def viewadd_cluster_affinity_groups_hosts(self, gid, host, query):
        group = self._group(gid)[0]
        target = self.resolve("hosts", host, "Affinity Group")
        group.hosts = list(group.hosts or []) + [ref("hosts", target.id)]
        self.store.touch("cluster_affinity_groups", gid)
        return render("hosts", target)

    def viewremove_cluster_affinity_groups_hosts(self, gid, hid, query):
        group = self._group(gid)[0]
        group.hosts = [h for h in (group.hosts or []) if h.id != hid]
        self.store.touch("cluster_affinity_groups", gid)


def _rules_enabled(stored, given):
    """AffinityGroupMapper: a rule sent with a polarity and no ``enabled`` is enabled (positive or negative)."""
    for attr in ("vms_rule", "hosts_rule"):
        rule = getattr(given, attr)
        if rule is not None and rule.enabled is None and rule.positive is not None:
            getattr(stored, attr).enabled = True
