# SPDX-License-Identifier: GPL-3.0-or-later
"""Affinity labels (AffinityLabelsService, AffinityLabelVmsService/HostsService and the VMs' and hosts'
AssignedAffinityLabelsService). A label holds references to VMs and hosts; the scheduler does not use them
(the Engine turns labels into implicit affinity groups since 4.4; the simulator does not)."""

from ovirtsdk4 import types as T

from .core import new_id
from .jobs import incomplete
from .model import ApiError, conflict, ref, render


class LabelsMixin:
    def _render_label(self, label):
        return render("affinitylabels", label)

    def list_affinitylabels(self, parent, query):
        return [self._render_label(lab) for lab in self.store.list("affinitylabels")]

    def get_affinitylabels(self, parent, lid, query):
        return self._render_label(self.must("affinitylabels", lid))

    def add_affinitylabels(self, parent, label, query):
        if not label.name:
            raise incomplete("AffinityLabel", ["name"])
        if self.by_name("affinitylabels", label.name):
            raise conflict("Cannot create Label. Label name is already in use.")
        stored = T.AffinityLabel(id=new_id(), name=label.name, description=label.description or "",
                                 read_only=False, has_implicit_affinity_group=bool(label.has_implicit_affinity_group))
        self.store.put("affinitylabels", stored, extra={"vms": [], "hosts": []})
        for vm in label.vms or []:
            self._label_member(stored.id, "vms", vm)
        for host in label.hosts or []:
            self._label_member(stored.id, "hosts", host)
        return self._render_label(stored)

    def update_affinitylabels(self, parent, lid, label, query):
        stored = self.must("affinitylabels", lid)
        if label.name and label.name != stored.name and self.by_name("affinitylabels", label.name):
            raise conflict("Cannot update Label. Label name is already in use.")
        for attr in ("name", "description", "has_implicit_affinity_group"):
            if getattr(label, attr) is not None:
                setattr(stored, attr, getattr(label, attr))
        self.store.touch("affinitylabels", lid)
        return self._render_label(stored)

    def remove_affinitylabels(self, parent, lid, query):
        self.must("affinitylabels", lid)
        self.store.delete("affinitylabels", lid)

    # -- members -------------------------------------------------------------------------------------
    def _label_member(self, lid, coll, given):
        target = self.resolve(coll, given, "Label")
        x = self.store.x("affinitylabels", lid)
        members = x.setdefault(coll, [])
        if target.id not in members:
            members.append(target.id)
            self.store.touch("affinitylabels", lid)
        return target

    def _members(self, lid, coll):
        self.must("affinitylabels", lid)
        ids = self.store.extra.get("affinitylabels", {}).get(lid, {}).get(coll, [])
        return [ref(coll, i) for i in ids if self.store.get(coll, i) is not None]

    def view_affinitylabels_vms(self, lid, query):
        return self._members(lid, "vms")

    def view_affinitylabels_hosts(self, lid, query):
        return self._members(lid, "hosts")

    def viewadd_affinitylabels_vms(self, lid, vm, query):
        self.must("affinitylabels", lid)
        return ref("vms", self._label_member(lid, "vms", vm).id)

    def viewadd_affinitylabels_hosts(self, lid, host, query):
        self.must("affinitylabels", lid)
        return ref("hosts", self._label_member(lid, "hosts", host).id)

    def _label_drop(self, lid, coll, oid):
        self.must("affinitylabels", lid)
        members = self.store.x("affinitylabels", lid).setdefault(coll, [])
        if oid not in members:
            raise ApiError(404)
        members.remove(oid)
        self.store.touch("affinitylabels", lid)

    def viewremove_affinitylabels_vms(self, lid, vid, query):
        self._label_drop(lid, "vms", vid)

    def viewremove_affinitylabels_hosts(self, lid, hid, query):
        self._label_drop(lid, "hosts", hid)

    # -- labels seen from a VM or a host -------------------------------------------------------------
    def _labels_of(self, coll, oid):
        self.must(coll, oid)
        return [self._render_label(lab) for lab in self.store.list("affinitylabels")
                if oid in self.store.extra.get("affinitylabels", {}).get(lab.id, {}).get(coll, [])]

    def view_vms_affinitylabels(self, vid, query):
        return self._labels_of("vms", vid)

    def view_hosts_affinitylabels(self, hid, query):
        return self._labels_of("hosts", hid)

    def viewadd_vms_affinitylabels(self, vid, label, query):
        lab = self.resolve("affinitylabels", label, "Label")
        self._label_member(lab.id, "vms", T.Vm(id=vid))
        return self._render_label(lab)

    def viewadd_hosts_affinitylabels(self, hid, label, query):
        lab = self.resolve("affinitylabels", label, "Label")
        self._label_member(lab.id, "hosts", T.Host(id=hid))
        return self._render_label(lab)

    def viewremove_vms_affinitylabels(self, vid, lid, query):
        self._label_drop(lid, "vms", vid)

    def viewremove_hosts_affinitylabels(self, hid, lid, query):
        self._label_drop(lid, "hosts", hid)

    # -- tags assigned to hosts (AssignedTagsService under /hosts/{id}/tags) -------------------------
    def add_host_tags(self, hid, tag, query):
        self.must("hosts", hid)
        t = self.resolve("tags", tag, "Tag")
        key = "%s:%s" % (hid, t.id)
        if self.store.get("host_tags", key) is not None:
            raise conflict("Cannot attach Tag. The tag is already attached.")
        self.store.put("host_tags", T.Tag(id=key, name=t.name), parent=hid, extra={"tag": t.id})
        return self._host_tag_view(hid, key)

    def _host_tag_view(self, hid, key):
        tid = self.store.extra["host_tags"][key]["tag"]
        tag = self.store.get("tags", tid)
        out = T.Tag(id=tid, name=tag.name if tag else None, description=tag.description if tag else None,
                    host=ref("hosts", hid))
        out.href = "/ovirt-engine/api/hosts/%s/tags/%s" % (hid, tid)
        return out

    def list_host_tags(self, hid, query):
        self.must("hosts", hid)
        return [self._host_tag_view(hid, t.id) for t in self.store.list("host_tags", hid)]

    def get_host_tags(self, hid, tid, query):
        key = "%s:%s" % (hid, tid)
        if self.store.get("host_tags", key) is None:
            raise ApiError(404)
        return self._host_tag_view(hid, key)

    def remove_host_tags(self, hid, tid, query):
        key = "%s:%s" % (hid, tid)
        if self.store.get("host_tags", key) is None:
            raise ApiError(404)
        self.store.delete("host_tags", key)
