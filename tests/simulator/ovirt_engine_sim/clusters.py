# SPDX-License-Identifier: GPL-3.0-or-later
"""Clusters: add, update (scheduling policy checked), remove, and a data center's clusters."""

from .model import bad_request, conflict, merge, ref, render


class ClustersMixin:
    def add_clusters(self, parent, cluster, query):
        if not cluster.name:
            raise bad_request("Cannot add Cluster. The following field is required: name")
        if self.by_name("clusters", cluster.name):
            raise conflict("Cannot create Cluster. Cluster name is already in use.")
        dc = self.resolve("datacenters", cluster.data_center, "Cluster")
        stored = self.new_cluster(cluster.name, dc.id)
        merge(stored, cluster, skip=("data_center",))
        self._check_scheduling_policy(stored)
        return render("clusters", stored)

    def _check_scheduling_policy(self, cluster):
        if cluster.scheduling_policy is not None:
            sp = self.resolve("schedulingpolicies", cluster.scheduling_policy, "Cluster")
            cluster.scheduling_policy = ref("schedulingpolicies", sp.id)

    def update_clusters(self, parent, cid, cluster, query):
        stored = self.must("clusters", cid)
        if cluster.name and cluster.name != stored.name and self.by_name("clusters", cluster.name):
            raise conflict("Cannot edit Cluster. Cluster name is already in use.")
        merge(stored, cluster, skip=("data_center", "affinity_groups"))
        self._check_scheduling_policy(stored)
        self.store.touch("clusters", cid)
        self.emit(811, "Host cluster %s was updated by admin@internal-authz." % stored.name, cluster=cid)
        return render("clusters", stored)

    def remove_clusters(self, parent, cid, query):
        cluster = self.must("clusters", cid)
        if any(h.cluster.id == cid for h in self.store.list("hosts")) or \
                any(v.cluster.id == cid for v in self.store.list("vms")):
            raise conflict("Cannot remove Cluster %s. Cluster is not empty." % cluster.name)
        self.store.delete("clusters", cid)

    def view_datacenters_clusters(self, dc_id, query):
        return [render("clusters", c) for c in self.store.list("clusters") if c.data_center.id == dc_id]
