# SPDX-License-Identifier: GPL-3.0-or-later
"""Users, groups, roles, permissions, SSH public keys and authz domains.

Users and groups are not created by the Engine: ``POST /users`` and ``POST /groups`` add a principal that
exists in an authz directory (AddUserCommand / AddGroupCommand look it up and refuse otherwise). The simulated
directories are fixed (see ``DIRECTORY``); ``admin@internal-authz`` is in ``/users`` from the start and holds
``SuperUser`` on the system. Permissions are stored, listed and removed; they are not enforced (every API
request acts as the admin)."""

import uuid

from ovirtsdk4 import types as T

from .core import new_id
from .jobs import ADMIN_ID, incomplete
from .model import ApiError, bad_request, conflict, ref, render
from .permits import ACTION_GROUPS

SYSTEM_ID = "aaa00000-0000-0000-0000-123456789aaa"   # MultiLevelAdministrationHandler.SYSTEM_OBJECT_ID
_NS = uuid.UUID("6f1c1d2e-4c3b-4b8e-9a51-0d3c1e5a7b10")

# The simulated authz directories: name -> users, groups (what ovirt-aaa-jdbc-tool or an LDAP would hold).
DIRECTORY = {
    "internal-authz": {"users": ["admin", "user1", "user2", "myuser"], "groups": ["mygroup", "admins", "operators"]},
    "mydomain-authz": {"users": ["myuser", "user1"], "groups": ["mygroup"]},
}

# PredefinedRoles: name, id, administrative
PREDEFINED_ROLES = [
    ("SuperUser", "00000000-0000-0000-0000-000000000001", True),
    ("UserRole", "00000000-0000-0000-0001-000000000001", False),
    ("PowerUserRole", "00000000-0000-0000-0001-000000000002", False),
    ("ClusterAdmin", "DEF00001-0000-0000-0000-DEF000000001", True),
    ("DataCenterAdmin", "DEF00002-0000-0000-0000-DEF000000002", True),
    ("StorageAdmin", "DEF00003-0000-0000-0000-DEF000000003", True),
    ("HostAdmin", "DEF00004-0000-0000-0000-DEF000000004", True),
    ("NetworkAdmin", "DEF00005-0000-0000-0000-DEF000000005", True),
    ("UserVmManager", "DEF00006-0000-0000-0000-DEF000000006", False),
    ("VmPoolAdmin", "DEF00007-0000-0000-0000-DEF000000007", True),
    ("TemplateAdmin", "DEF00008-0000-0000-0000-DEF000000008", True),
    ("UserTemplateBasedVm", "DEF00009-0000-0000-0000-DEF000000009", False),
    ("QuotaConsumer", "DEF0000A-0000-0000-0000-DEF00000000A", False),
    ("DiskOperator", "DEF0000A-0000-0000-0000-DEF00000000B", False),
    ("DiskCreator", "DEF0000A-0000-0000-0000-DEF00000000C", False),
    ("VmCreator", "DEF0000A-0000-0000-0000-DEF00000000D", False),
    ("TemplateCreator", "DEF0000A-0000-0000-0000-DEF00000000E", False),
    ("TemplateOwner", "DEF0000A-0000-0000-0000-DEF00000000F", False),
    ("VnicProfileUser", "DEF0000A-0000-0000-0000-DEF000000010", False),
    ("InstanceCreator", "DEF00011-0000-0000-0000-DEF000000011", False),
    ("UserInstanceManager", "DEF00012-0000-0000-0000-DEF000000012", False),
    ("TagManager", "DEF00011-0000-0000-0000-DEF000000013", True),
    ("BookmarkManager", "DEF00011-0000-0000-0000-DEF000000014", True),
    ("EventNotificationManager", "DEF00011-0000-0000-0000-DEF000000015", True),
    ("DiskProfileUser", "DEF00020-0000-0000-0000-ABC000000010", False),
    ("UserVmRunTimeManager", "DEF00006-0000-0000-0000-DEF000000011", False),
    ("MacPoolAdmin", "DEF00013-0000-0000-0000-DEF000000013", True),
    ("CpuProfileCreator", "DEF00016-0000-0000-0000-DEF000000016", False),
    ("CpuProfileOperator", "DEF00017-0000-0000-0000-DEF000000017", False),
    ("GlusterAdmin", "DEF0000B-0000-0000-0000-DEF00000000B", True),
]
# ActionGroup ids: id -> (name, administrative)
PERMITS = dict(ACTION_GROUPS)
_OBJECT_ATTRS = (("vms", "vm"), ("hosts", "host"), ("clusters", "cluster"), ("datacenters", "data_center"),
                 ("storagedomains", "storage_domain"), ("templates", "template"), ("disks", "disk"))


def domain_id(name):
    return str(uuid.uuid5(_NS, "domain:" + name))


def principal_id(domain, kind, name):
    if domain == "internal-authz" and kind == "user" and name == "admin":
        return ADMIN_ID
    return str(uuid.uuid5(_NS, "%s:%s:%s" % (domain, kind, name)))


class AccessMixin:
    def _ensure_access(self):
        if self.store.get("roles", PREDEFINED_ROLES[0][1].lower()) is not None:
            return
        for name, rid, admin in PREDEFINED_ROLES:
            self.store.put("roles", T.Role(id=rid.lower(), name=name, administrative=admin, mutable=False,
                                           description=""), extra={"permits": []})
        for dname in DIRECTORY:
            self.store.put("domains", T.Domain(id=domain_id(dname), name=dname))
        self.store.put("users", self._directory_user("internal-authz", "admin"))
        self.store.put("permissions", T.Permission(id=new_id(), role=ref("roles", PREDEFINED_ROLES[0][1].lower()),
                                                   user=ref("users", ADMIN_ID)), extra={"object": ("system", None)})

    def _directory_user(self, dname, name):
        uid = principal_id(dname, "user", name)
        return T.User(id=uid, name=name, user_name="%s@%s" % (name, dname), principal=name, namespace="*",
                      domain_entry_id=uid.replace("-", ""), last_name="", email="%s@example.test" % name,
                      department="", domain=ref("domains", domain_id(dname), name=dname))

    # -- domains -------------------------------------------------------------------------------------
    def list_domains(self, parent, query):
        self._ensure_access()
        return self.list_generic("domains")

    def get_domains(self, parent, did, query):
        self._ensure_access()
        return self.get_generic("domains", did)

    def _domain_name(self, did):
        dom = self.store.get("domains", did)
        if dom is None:
            raise ApiError(404)
        return dom.name

    def view_domains_users(self, did, query):
        dname = self._domain_name(did)
        return [render("users", self._directory_user(dname, u)) for u in DIRECTORY[dname]["users"]]

    def view_domains_groups(self, did, query):
        dname = self._domain_name(did)
        return [render("groups", self._directory_group(dname, g)) for g in DIRECTORY[dname]["groups"]]

    def _directory_group(self, dname, name):
        gid = principal_id(dname, "group", name)
        return T.Group(id=gid, name=name, namespace="*", domain_entry_id=gid.replace("-", ""),
                       domain=ref("domains", domain_id(dname), name=dname))

    # -- users and groups ----------------------------------------------------------------------------
    def list_users(self, parent, query):
        self._ensure_access()
        return self.list_generic("users")

    def get_users(self, parent, uid, query):
        self._ensure_access()
        return self.get_generic("users", uid)

    def _principal(self, kind, obj):
        """The directory entry an added user or group names (``user_name`` user@domain or name + domain)."""
        name = obj.user_name if kind == "user" and obj.user_name else obj.name
        dname = obj.domain.name if obj.domain is not None and obj.domain.name else None
        if obj.domain is not None and obj.domain.id and not dname:
            dom = self.store.get("domains", obj.domain.id)
            dname = dom.name if dom else None
        if name and "@" in name and dname is None:
            name, dname = name.rsplit("@", 1)
        elif name and "@" in name:
            name = name.rsplit("@", 1)[0]
        if not name or not dname:
            raise incomplete(kind.capitalize(), ["user_name" if kind == "user" else "name", "domain.id|name"])
        if dname not in DIRECTORY:
            raise ApiError(404, "Domain: '%s' does not exist." % dname)
        if name not in DIRECTORY[dname]["users" if kind == "user" else "groups"]:
            raise ApiError(404, "No such %s: %s in domain %s" % (kind, name, dname))
        return dname, name

    def add_users(self, parent, user, query):
        self._ensure_access()
        dname, name = self._principal("user", user)
        stored = self._directory_user(dname, name)
        if self.store.get("users", stored.id) is not None:
            raise conflict("Cannot add User. The user is already in the system.")
        self.store.put("users", stored)
        self.emit(149, "User %s@%s was added." % (name, dname))
        return render("users", stored)

    def remove_users(self, parent, uid, query):
        self._ensure_access()
        self.must("users", uid)
        if uid == ADMIN_ID:
            raise conflict("Cannot remove User. The built-in admin user cannot be removed.")
        self._drop_permissions("user", uid)
        for key in self.store.list("user_ssh_public_keys", uid):
            self.store.delete("user_ssh_public_keys", key.id)
        self.store.delete("users", uid)

    def list_groups(self, parent, query):
        self._ensure_access()
        return self.list_generic("groups")

    def get_groups(self, parent, gid, query):
        self._ensure_access()
        return self.get_generic("groups", gid)

    def add_groups(self, parent, group, query):
        self._ensure_access()
        dname, name = self._principal("group", group)
        stored = self._directory_group(dname, name)
        if self.store.get("groups", stored.id) is not None:
            raise conflict("Cannot add Group. The group is already in the system.")
        self.store.put("groups", stored)
        return render("groups", stored)

    def remove_groups(self, parent, gid, query):
        self._ensure_access()
        self.must("groups", gid)
        self._drop_permissions("group", gid)
        self.store.delete("groups", gid)

    def view_users_groups(self, uid, query):
        self.must("users", uid)
        return []

    def view_users_roles(self, uid, query):
        return self._principal_roles("user", uid)

    def view_groups_roles(self, gid, query):
        return self._principal_roles("group", gid)

    def _principal_roles(self, kind, pid):
        self.must(kind + "s", pid)
        ids = {p.role.id for p in self.store.list("permissions") if getattr(p, kind) and getattr(p, kind).id == pid}
        return [render("roles", r) for r in self.store.list("roles") if r.id in ids]

    # -- ssh public keys -----------------------------------------------------------------------------
    def list_user_ssh_public_keys(self, uid, query):
        self.must("users", uid)
        return self.list_generic("user_ssh_public_keys", uid)

    def add_user_ssh_public_keys(self, uid, key, query):
        self.must("users", uid)
        if not key.content:
            raise incomplete("SshPublicKey", ["content"])
        stored = T.SshPublicKey(id=new_id(), content=key.content.strip(), user=ref("users", uid))
        self.store.put("user_ssh_public_keys", stored, parent=uid)
        return render("user_ssh_public_keys", stored, uid)

    def update_user_ssh_public_keys(self, uid, kid, key, query):
        stored = self.must("user_ssh_public_keys", kid, uid)
        if key.content:
            stored.content = key.content.strip()
        self.store.touch("user_ssh_public_keys", kid)
        return render("user_ssh_public_keys", stored, uid)

    def remove_user_ssh_public_keys(self, uid, kid, query):
        self.remove_generic("user_ssh_public_keys", kid, uid)

    # -- roles ---------------------------------------------------------------------------------------
    def list_roles(self, parent, query):
        self._ensure_access()
        return self.list_generic("roles")

    def get_roles(self, parent, rid, query):
        self._ensure_access()
        return self.get_generic("roles", rid)

    def _permits(self, given):
        out = []
        for p in given or []:
            pid = p.id
            if pid is None and p.name:
                pid = next((k for k, v in PERMITS.items() if v[0] == p.name), None)
            if pid not in PERMITS:
                raise bad_request("Cannot add Role. The permit '%s' does not exist." % (p.id or p.name))
            out.append(pid)
        return out

    def add_roles(self, parent, role, query):
        self._ensure_access()
        if not role.name or role.permits is None or role.administrative is None:
            given = (("name", role.name), ("permits.id", role.permits), ("administrative", role.administrative))
            raise incomplete("Role", [f for f, v in given if v is None])
        if self.by_name("roles", role.name):
            raise conflict("Cannot add Role. Role name is already in use.")
        permits = self._permits(role.permits)
        if not permits:
            raise conflict("Actions list cannot be empty.")
        if not role.administrative and any(PERMITS[p][1] for p in permits):
            # AddRoleWithActionGroupsCommand: a user role takes no administrator's action group
            raise conflict("Cannot add administrator's action group to a User Role.")
        stored = T.Role(id=new_id(), name=role.name, description=role.description or "",
                        administrative=role.administrative, mutable=True)
        self.store.put("roles", stored, extra={"permits": permits})
        return render("roles", stored)

    def update_roles(self, parent, rid, role, query):
        stored = self.must("roles", rid)
        if not stored.mutable:
            raise conflict("Cannot update Role. This Role is read-only.")
        for attr in ("name", "description", "administrative"):
            if getattr(role, attr) is not None:
                setattr(stored, attr, getattr(role, attr))
        self.store.touch("roles", rid)
        return render("roles", stored)

    def remove_roles(self, parent, rid, query):
        stored = self.must("roles", rid)
        if not stored.mutable:
            raise conflict("Cannot remove Role. This Role is read-only.")
        if any(p.role.id == rid for p in self.store.list("permissions")):
            raise conflict("Cannot remove Role. Role is in use.")
        self.store.delete("roles", rid)

    def view_roles_permits(self, rid, query):
        self.must("roles", rid)
        out = []
        for pid in self.store.extra.get("roles", {}).get(rid, {}).get("permits", []):
            name, admin = PERMITS[pid]
            p = T.Permit(id=pid, name=name, administrative=admin, role=ref("roles", rid))
            p.href = "%s/permits/%s" % (ref("roles", rid).href, pid)
            out.append(p)
        return out

    def viewadd_roles_permits(self, rid, permit, query):
        stored = self.must("roles", rid)
        if not stored.mutable:
            raise conflict("Cannot update Role. This Role is read-only.")
        pid = self._permits([permit])[0]
        if not stored.administrative and PERMITS[pid][1]:   # AttachActionGroupsToRoleCommand
            raise conflict("Cannot add administrator's action group to a User Role.")
        x = self.store.x("roles", rid)
        if pid not in x.setdefault("permits", []):
            x["permits"].append(pid)
        self.store.touch("roles", rid)
        return next(p for p in self.view_roles_permits(rid, {}) if p.id == pid)

    def viewremove_roles_permits(self, rid, pid, query):
        x = self.store.x("roles", rid)
        if pid not in x.get("permits", []):
            raise ApiError(404)
        x["permits"].remove(pid)
        self.store.touch("roles", rid)

    # -- permissions ---------------------------------------------------------------------------------
    def _render_permission(self, p):
        out = render("permissions", p)
        kind, oid = self.store.extra.get("permissions", {}).get(p.id, {}).get("object", ("system", None))
        for coll, attr in _OBJECT_ATTRS + (("networks", None), ("vnicprofiles", None)):
            if coll == kind and attr:
                setattr(out, attr, ref(coll, oid))
        return out

    def _permissions_of(self, kind, oid):
        self._ensure_access()
        out = []
        for p in self.store.list("permissions"):
            obj = tuple(self.store.extra.get("permissions", {}).get(p.id, {}).get("object", ("system", None)))
            if kind in ("users", "groups"):
                who = p.user if kind == "users" else p.group
                if who is not None and who.id == oid:
                    out.append(self._render_permission(p))
            elif obj == (kind, oid):
                out.append(self._render_permission(p))
        return out

    def _add_permission(self, kind, oid, perm):
        self._ensure_access()
        if kind not in ("system", "users", "groups"):
            self.must(kind, oid)
        if perm.role is None or (perm.role.id is None and perm.role.name is None):
            raise incomplete("Permission", ["role.id|name"])
        role = self.resolve("roles", perm.role, "Permission")
        obj_kind, obj_id = kind, oid
        user = group = None
        if kind in ("users", "groups"):
            # /users/{id}/permissions: the object is named in the body
            for coll, attr in _OBJECT_ATTRS:
                target = getattr(perm, attr, None)
                if target is not None:
                    obj_kind, obj_id = coll, self.resolve(coll, target, "Permission").id
                    break
            else:
                obj_kind, obj_id = "system", None
            if kind == "users":
                user = self.must("users", oid)
            else:
                group = self.must("groups", oid)
        else:
            if perm.user is not None:
                user = self.resolve("users", perm.user, "Permission")
            elif perm.group is not None:
                group = self.resolve("groups", perm.group, "Permission")
            else:
                raise incomplete("Permission", ["user|group.id"])
        for p in self.store.list("permissions"):
            if tuple(self.store.extra.get("permissions", {}).get(p.id, {}).get("object", ())) == (obj_kind, obj_id) \
                    and p.role.id == role.id and ((user and p.user and p.user.id == user.id) or
                                                  (group and p.group and p.group.id == group.id)):
                raise conflict("Cannot add Permission. Permission already exists.")
        stored = T.Permission(id=new_id(), role=ref("roles", role.id),
                              user=ref("users", user.id) if user else None,
                              group=ref("groups", group.id) if group else None)
        self.store.put("permissions", stored, extra={"object": [obj_kind, obj_id]})
        return self._render_permission(stored)

    def _drop_permissions(self, kind, pid):
        for p in list(self.store.list("permissions")):
            who = getattr(p, kind)
            if who is not None and who.id == pid:
                self.store.delete("permissions", p.id)

    def list_permissions(self, parent, query):
        return list(self._permissions_of("system", None))

    def add_permissions(self, parent, perm, query):
        return self._add_permission("system", None, perm)

    def get_permissions(self, parent, pid, query):
        self._ensure_access()
        return self._render_permission(self.must("permissions", pid))

    def remove_permissions(self, parent, pid, query):
        self.must("permissions", pid)
        self.store.delete("permissions", pid)


def _permission_views(coll):
    def view(self, oid, query):
        self.must(coll, oid)
        return self._permissions_of(coll, oid)

    def add(self, oid, perm, query):
        return self._add_permission(coll, oid, perm)

    def get(self, oid, pid, query):
        for p in self._permissions_of(coll, oid):
            if p.id == pid:
                return p
        raise ApiError(404)

    def remove(self, oid, pid, query):
        get(self, oid, pid, query)
        self.store.delete("permissions", pid)
    return view, add, get, remove


for _c in ("vms", "hosts", "clusters", "templates", "disks", "storagedomains", "datacenters", "networks", "users",
           "groups", "vnicprofiles"):
    _v, _a, _g, _r = _permission_views(_c)
    setattr(AccessMixin, "view_%s_permissions" % _c, _v)
    setattr(AccessMixin, "viewadd_%s_permissions" % _c, _a)
    setattr(AccessMixin, "viewget_%s_permissions" % _c, _g)
    setattr(AccessMixin, "viewremove_%s_permissions" % _c, _r)
