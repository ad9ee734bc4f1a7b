# SPDX-License-Identifier: GPL-3.0-or-later
"""Templates and template versions: made from a VM's disks, their own disks on storage."""

import copy

from ovirtsdk4 import types as T

from .core import new_id
from .model import ApiError, bad_request, conflict, merge, ref, render


class TemplatesMixin:
    def add_templates(self, parent, tpl, query):
        base = None
        if tpl.version is not None:
            # a new version of a base template (BackendTemplatesResource.addTemplate → AddVmTemplateCommand with
            # baseTemplateId): it takes the base's name and the next version number of the chain
            if tpl.version.base_template is None:
                raise ApiError(400, "Template [version.baseTemplate] required for add", reason="Incomplete parameters")
            base = self.store.get("templates", tpl.version.base_template.id or "")
            if base is None:
                raise conflict("Cannot add Template. The relevant Template doesn't exist.")
            if base.id == self.BLANK_ID:
                raise conflict("Blank template can't have sub-templates.")
            if self.template_base_id(base) != base.id:
                raise conflict("Cannot add Template. Only the first template version can be selected as the base "
                               "template.")
        if not tpl.name and base is None:
            raise bad_request("Cannot add Template. The following field is required: name")
        if base is None and self.by_name("templates", tpl.name) is not None:
            raise conflict("Cannot add Template. The Template name is already in use, please choose a unique name "
                           "and try again.")
        vm = self.resolve("vms", tpl.vm, "Template")
        if vm.status != T.VmStatus.DOWN:
            raise conflict("Cannot add Template. VM is locked or still running, try again once VM is in the Down "
                           "state.")
        tid = new_id()
        if base is None:
            version = T.TemplateVersion(version_number=1, version_name=(tpl.version.version_name if tpl.version
                                                                        else None) or "base version",
                                        base_template=ref("templates", tid))
        else:
            number = max(t.version.version_number or 1 for t in self.template_chain(base.id)) + 1
            version = T.TemplateVersion(version_number=number, version_name=tpl.version.version_name,
                                        base_template=ref("templates", base.id))
        stored = T.Template(id=tid, name=base.name if base is not None else tpl.name,
                            description=tpl.description or "",
                            status=T.TemplateStatus.LOCKED, cluster=vm.cluster, creation_time=self.now_dt(),
                            memory=vm.memory, memory_policy=copy.deepcopy(vm.memory_policy), cpu=copy.deepcopy(vm.cpu),
                            os=copy.deepcopy(vm.os), type=vm.type, high_availability=copy.deepcopy(vm.high_availability),
                            stateless=vm.stateless, version=version, origin="ovirt")
        self.store.put("templates", stored)
        for att in self.store.list("vm_disk_attachments", vm.id):
            src = self.store.get("disks", att.disk.id)
            if src is None or not src.storage_domains:
                continue  # direct LUN disks stay with the VM
            disk = self.create_disk(src.alias, src.provisioned_size, src.storage_domains[0].id, src.format,
                                    copy_from=self.disk_path(src.id), locked_for=0)
            self.store.put("template_disk_attachments", T.DiskAttachment(
                id=disk.id, disk=ref("disks", disk.id), interface=att.interface, bootable=att.bootable, active=True,
                template=ref("templates", stored.id)), parent=stored.id)
        for nic in self.store.list("vm_nics", vm.id):
            self._store_nic(stored.id, T.Nic(name=nic.name, interface=nic.interface, vnic_profile=nic.vnic_profile),
                            "template_nics")
        self.emit(48, "Creation of Template %s from VM %s was initiated by admin@internal-authz." % (
            stored.name, vm.name), template=stored.id)
        self.schedule(float(self.tunables.get("template_seconds", 20)), "template_ok", template=stored.id)
        return render("templates", stored)

    def timer_template_ok(self, template):
        obj = self.store.get("templates", template)
        if obj is not None:
            obj.status = T.TemplateStatus.OK
            self.store.touch("templates", template)
            self.emit(49, "Creation of Template %s has been completed." % obj.name, template=template)
            if self.template_base_id(obj) != obj.id:
                self.update_vms_to_latest(obj)   # AddVmTemplateCommand.endDefaultOperations → UpdateVmVersion

    def template_base_id(self, tpl):
        v = tpl.version
        return v.base_template.id if v is not None and v.base_template is not None else tpl.id

    def template_chain(self, base_id):
        return [t for t in self.store.list("templates") if self.template_base_id(t) == base_id]

    def latest_template(self, tpl):
        """vmTemplateDao.getTemplateWithLatestVersionInChain"""
        chain = self.template_chain(self.template_base_id(tpl)) or [tpl]
        return max(chain, key=lambda t: (t.version.version_number or 1) if t.version else 1)

    def _template_out(self, tpl):
        out = render("templates", tpl)
        if out.version is None or out.version.base_template is None:   # a base template: it is its own base
            out.version = T.TemplateVersion(version_number=1, version_name="base version",
                                            base_template=ref("templates", tpl.id))
        return out

    def list_templates(self, parent, query):
        return [self._template_out(t) for t in self.store.list("templates")]

    def get_templates(self, parent, tid, query):
        return self._template_out(self.must("templates", tid))

    def update_templates(self, parent, tid, tpl, query):
        stored = self.must("templates", tid)
        if tpl.name and tpl.name != stored.name and self.template_base_id(stored) != stored.id:
            raise conflict("Cannot update the name of Sub-Templates, Only the Version name can be updated.")
        version_name = tpl.version.version_name if tpl.version is not None else None
        merge(stored, tpl, skip=("status", "vm", "cluster", "version"))
        if version_name is not None:
            stored.version.version_name = version_name
        self.store.touch("templates", tid)
        return self._template_out(stored)

    def remove_templates(self, parent, tid, query):
        tpl = self.must("templates", tid)
        if tid == self.BLANK_ID:
            raise conflict("Cannot delete Template. Removing the Blank Template is not allowed.")
        users = sorted(v.name for v in self.store.list("vms") if v.template is not None and v.template.id == tid)
        if users:
            raise conflict("Cannot delete Template. Template is being used by the following VMs: %s." % ", ".join(users))
        versions = [t for t in self.template_chain(tid) if t.id != tid]
        if versions:   # RemoveVmTemplateCommand: the lowest sub-version becomes the base of the others
            successor = min(versions, key=lambda t: t.version.version_number or 0)
            for t in versions:
                t.version.base_template = ref("templates", successor.id)
                self.store.touch("templates", t.id)
        for att in self.store.list("template_disk_attachments", tid):
            self.store.delete("template_disk_attachments", att.id)
            self.delete_disk(att.disk.id)
        for nic in self.store.list("template_nics", tid):
            self.store.delete("template_nics", nic.id)
        self.store.delete("templates", tid)
        self.emit(51, "Removal of Template %s has been completed." % tpl.name)
