# SPDX-License-Identifier: GPL-3.0-or-later
"""Logical networks, vNIC profiles (network filters, pass-through) and tags."""

from ovirtsdk4 import types as T

from .core import new_id
from .model import bad_request, conflict, merge, ref, render


class NetworksMixin:
    def view_datacenters_networks(self, dc_id, query):
        return [render("networks", n) for n in self.store.list("networks") if n.data_center.id == dc_id]

    def view_networks_vnicprofiles(self, nid, query):
        return [render("vnicprofiles", p) for p in self.store.list("vnicprofiles") if p.network.id == nid]

    def default_network_filter(self):
        """The filter a new vNIC profile gets when none is given (EnableMACAntiSpoofingFilterRules)."""
        f = self.by_name("networkfilters", "vdsm-no-mac-spoofing")
        return ref("networkfilters", f.id) if f is not None else None

    def _vnic_filter(self, given, what):
        """<network_filter id=.../> names a filter; an empty <network_filter/> means none."""
        if not given.id and not given.name:
            return None
        for f in self.store.list("networkfilters"):
            if f.id == given.id or (not given.id and f.name == given.name):
                return ref("networkfilters", f.id)
        raise conflict("Cannot %s VM network interface profile. The specified network filter does not exist." % what)

    def _vnic_passthrough_check(self, prof, what):
        mode = prof.pass_through.mode if prof.pass_through is not None else None
        if mode == T.VnicPassThroughMode.ENABLED and (prof.port_mirroring or (
                prof.network_filter is not None and (prof.network_filter.id or prof.network_filter.name))):
            raise conflict("Cannot %s VM network interface profile. 'Port Mirroring', 'Qos' and 'Network Filter' are "
                           "not supported on passthrough profiles." % what)

    def add_vnicprofiles(self, parent, prof, query):
        if not prof.name:
            raise bad_request("Cannot add VM network interface profile. The following field is required: name")
        net = self.resolve("networks", prof.network, "VM network interface profile")
        if any(p.name == prof.name and p.network.id == net.id for p in self.store.list("vnicprofiles")):
            raise conflict("Cannot add VM network interface profile. The name is already in use.")
        self._vnic_passthrough_check(prof, "add")
        mode = (prof.pass_through.mode if prof.pass_through is not None else None) or T.VnicPassThroughMode.DISABLED
        if prof.network_filter is None:
            nf = None if mode == T.VnicPassThroughMode.ENABLED else self.default_network_filter()
        else:
            nf = self._vnic_filter(prof.network_filter, "add")
        stored = T.VnicProfile(id=new_id(), name=prof.name, description=prof.description or "",
                               comment=prof.comment or "", network=ref("networks", net.id),
                               pass_through=T.VnicPassThrough(mode=mode), port_mirroring=bool(prof.port_mirroring),
                               migratable=True if prof.migratable is None else bool(prof.migratable),
                               custom_properties=prof.custom_properties, network_filter=nf)
        return render("vnicprofiles", self.store.put("vnicprofiles", stored))

    def update_vnicprofiles(self, parent, pid, prof, query):
        stored = self.must("vnicprofiles", pid)
        if prof.name and prof.name != stored.name and any(
                p.name == prof.name and p.network.id == stored.network.id for p in self.store.list("vnicprofiles")):
            raise conflict("Cannot update VM network interface profile. The name is already in use.")
        self._vnic_passthrough_check(prof, "update")
        if prof.network_filter is not None:
            stored.network_filter = self._vnic_filter(prof.network_filter, "update")
        if prof.qos is not None and not prof.qos.id:
            stored.qos = None
        merge(stored, prof, skip=("network", "network_filter", "qos"))
        self.store.touch("vnicprofiles", pid)
        return render("vnicprofiles", stored)

    def add_networks(self, parent, net, query):
        if not net.name:
            raise bad_request("Cannot add Network. The following field is required: name")
        dc = self.resolve("datacenters", net.data_center, "Network")
        if any(n.name == net.name and n.data_center.id == dc.id for n in self.store.list("networks")):
            raise conflict("Cannot add Network. The name of the logical network '%s' is already used." % net.name)
        stored = T.Network(id=new_id(), name=net.name, description=net.description or "",
                           data_center=ref("datacenters", dc.id), vlan=net.vlan, mtu=net.mtu or 0, stp=False,
                           usages=net.usages if net.usages is not None else [T.NetworkUsage.VM], required=True)
        self.store.put("networks", stored)
        if T.NetworkUsage.VM in stored.usages:
            # AddNetworkCommand creates a vNIC profile of the same name for a VM network (vnic_profile_required).
            self.store.put("vnicprofiles", T.VnicProfile(
                id=new_id(), name=stored.name, description="", network=ref("networks", stored.id), port_mirroring=False,
                migratable=True, network_filter=self.default_network_filter(),
                pass_through=T.VnicPassThrough(mode=T.VnicPassThroughMode.DISABLED)))
        return render("networks", stored)

    def add_tags(self, parent, tag, query):
        if not tag.name:
            raise bad_request("Cannot add Tag. The following field is required: name")
        if self.by_name("tags", tag.name):
            raise conflict("Cannot add Tag. Tag name is already in use.")
        stored = T.Tag(id=new_id(), name=tag.name, description=tag.description or "")
        return render("tags", self.store.put("tags", stored))

    def remove_tags(self, parent, tid, query):
        self.must("tags", tid)
        for coll in ("vm_tags", "host_tags"):
            for key in [k for k, v in self.store.extra.get(coll, {}).items() if v.get("tag") == tid]:
                self.store.delete(coll, key)
        self.store.delete("tags", tid)
