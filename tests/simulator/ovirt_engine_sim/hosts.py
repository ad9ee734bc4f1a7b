# SPDX-License-Identifier: GPL-3.0-or-later
"""Hosts: maintenance with VM migration, activation, fencing through a simulated BMC, the upgrade
timeline (check, install, reboot), crashes, fence agents, NICs and statistics."""

from ovirtsdk4 import types as T

from .core import new_id
from .load import level
from .model import ApiError, bad_request, conflict, merge, ref, render
from .vms import RUNNING, _own, _stat

H = T.HostStatus
GIB = 1 << 30


class HostsMixin:
    def decorate_host(self, out):
        vms = self.vms_on_host(out.id)
        active = [v for v in vms if v.status in RUNNING]
        migrating = [v for v in vms if v.status == T.VmStatus.MIGRATING]
        out.summary = T.VmSummary(active=len(active), migrating=len(migrating), total=len(vms))
        if out.status == H.UP:
            out.max_scheduling_memory = max(0, self.free_memory(out))
        else:
            out.max_scheduling_memory = 0
        return out

    def list_hosts(self, parent, query):
        return [self.decorate_host(render("hosts", h)) for h in self.store.list("hosts")]

    def get_hosts(self, parent, hid, query):
        return self.decorate_host(render("hosts", self.must("hosts", hid)))

    def update_hosts(self, parent, hid, host, query):
        stored = self.must("hosts", hid)
        if host.name and host.name != stored.name and self.by_name("hosts", host.name):
            raise conflict("Cannot edit Host. The specified name is already in use.")
        if host.cluster is not None and (host.cluster.id or host.cluster.name):
            cluster = self.resolve("clusters", host.cluster, "Host")
            if cluster.id != stored.cluster.id and stored.status not in (H.MAINTENANCE, H.PENDING_APPROVAL):
                # ChangeVDSClusterCommand: ObjectIdentityChecker allows clusterId only in maintenance
                raise conflict("Cannot update Host. Host parameters cannot be modified while Host is operational.\n"
                               "Please switch Host to Maintenance mode first.")
            host.cluster = ref("clusters", cluster.id)
        pm = host.power_management
        if pm is not None and pm.enabled and not self.store.list("host_agents", hid) and not pm.agents:
            raise conflict("Cannot update Host. Power Management is enabled for Host but no Agent type selected.")
        merge(stored, host, skip=("status", "summary", "max_scheduling_memory", "nics", "agents", "statistics",
                                  "update_available", "spm", "memory", "cpu", "hosted_engine"))
        self.store.touch("hosts", hid)
        self.emit(43, "Host %s configuration was updated by admin@internal-authz." % stored.name, host=hid)
        return self.get_hosts(parent, hid, query)

    def set_host_status(self, host, status, **extra):
        host.status = status
        self.store.touch("hosts", host.id)
        self.record("host", host.id, status.value, **extra)

    def _bump_host(self, hid):
        x = self.store.x("hosts", hid)
        x["gen"] = x.get("gen", 0) + 1
        self.store.touch("hosts", hid)
        return x["gen"]

    # -- maintenance -----------------------------------------------------------------------------
    def action_hosts_deactivate(self, parent, hid, action, query):
        host = self.must("hosts", hid)
        if host.status == H.MAINTENANCE:
            raise conflict("Cannot switch Host %s to Maintenance mode. Host is already in Maintenance mode." % host.name)
        if host.status not in (H.UP, H.NON_OPERATIONAL, H.NON_RESPONSIVE, H.INSTALL_FAILED, H.ERROR,
                               H.PREPARING_FOR_MAINTENANCE):
            raise conflict("Cannot switch Host %s to Maintenance mode while it is %s." % (host.name, host.status.value))
        self.begin_maintenance(host, reason=action.reason)
        return self.action_result(job=self.store.x("hosts", hid).get("maintenance_job"))

    def begin_maintenance(self, host, reason=None, then=None):
        vms = [v for v in self.vms_on_host(host.id) if v.host is not None and v.host.id == host.id]
        pinned = [v.name for v in vms if v.placement_policy is not None and
                  v.placement_policy.affinity == T.VmAffinity.PINNED]
        if pinned and host.status == H.UP:
            raise conflict("Cannot switch Host %s to Maintenance mode. The following non-migratable VMs are running "
                           "on the Host: %s." % (host.name, ", ".join(sorted(pinned))))
        gen = self._bump_host(host.id)
        x = self.store.x("hosts", host.id)
        x["maintenance_then"] = then
        x["maintenance_job"] = self.start_job("Moving Host %s to Maintenance" % host.name)
        self.emit(600 if reason else 620, "Host %s was switched to Maintenance mode by admin@internal-authz%s." % (
            host.name, " (Reason: %s)" % reason if reason else ""), host=host.id, cluster=host.cluster.id)
        if host.status != H.UP or not self.vms_on_host(host.id):
            # Non-responsive or failed hosts go straight to maintenance: their VMs are not migrated; a host without
            # VMs has nothing to wait for.
            self.set_host_status(host, H.MAINTENANCE)
            self._maintenance_reached(host)
            return
        self.set_host_status(host, H.PREPARING_FOR_MAINTENANCE)
        failed = []
        for vm in vms:
            if vm.status == T.VmStatus.UP:
                dest, why = self.start_migration(vm, reason="Host preparing for maintenance")
                if dest is None:
                    failed.append((vm.name, why))
            elif vm.status == T.VmStatus.MIGRATING:
                continue
        if failed:
            self._maintenance_failed(host, "; ".join("%s: %s" % f for f in failed))
            return
        self.schedule(1.0, "maintenance_check", host=host.id, gen=gen)

    def _maintenance_failed(self, host, why):
        self.set_host_status(host, H.UP)
        x = self.store.x("hosts", host.id)
        self.emit(17, "Failed to switch Host %s to Maintenance mode: %s" % (host.name, why), "error",
                  host=host.id, cluster=host.cluster.id)
        self.end_job(x.pop("maintenance_job", None), ok=False)
        if x.pop("maintenance_then", None) == "upgrade":
            self.emit(841, "Failed to upgrade Host %s (User: admin@internal-authz)." % host.name, "error",
                      host=host.id, cluster=host.cluster.id)

    def on_migration_done(self, source, ok):
        host = self.store.get("hosts", source) if source else None
        if host is None or host.status != H.PREPARING_FOR_MAINTENANCE:
            return
        if not ok:
            self._maintenance_failed(host, "a VM failed to migrate")
            return
        self.timer_maintenance_check(host.id, self.store.x("hosts", host.id).get("gen"))

    def timer_maintenance_check(self, host, gen):
        obj = self.store.get("hosts", host)
        if obj is None or obj.status != H.PREPARING_FOR_MAINTENANCE or self.store.x("hosts", host).get("gen") != gen:
            return
        # VMs still on the host, and VMs on their way to it (they land, then move on): their migrations re-check.
        if self.vms_on_host(host):
            return
        self.set_host_status(obj, H.MAINTENANCE)
        self._maintenance_reached(obj)

    def _maintenance_reached(self, host):
        x = self.store.x("hosts", host.id)
        self.emit(15, "Host %s was switched to Maintenance Mode." % host.name, host=host.id, cluster=host.cluster.id)
        self.end_job(x.pop("maintenance_job", None))
        then = x.pop("maintenance_then", None)
        if then == "upgrade":
            self._upgrade_install(host, x.pop("upgrade_reboot", True), x.pop("upgrade_job", None))

    def action_hosts_activate(self, parent, hid, action, query):
        host = self.must("hosts", hid)
        if host.status == H.UP:
            raise conflict("Cannot activate Host. Host is already Up.")
        if host.status not in (H.MAINTENANCE, H.NON_OPERATIONAL, H.INSTALL_FAILED, H.ERROR,
                               H.PREPARING_FOR_MAINTENANCE, H.DOWN):
            raise conflict("Cannot activate Host. Host %s is %s." % (host.name, host.status.value))
        if self.store.x("hosts", hid).get("crashed"):
            raise conflict("Cannot activate Host. Host %s is not responding." % host.name)
        gen = self._bump_host(hid)
        for vm in self.vms_on_host(hid):
            if vm.status == T.VmStatus.MIGRATING:
                self.action_vms_cancelmigration(None, vm.id, T.Action(), {})
        self.set_host_status(host, H.UNASSIGNED)
        job = self.start_job("Activating Host %s" % host.name)
        self.schedule(float(self.tunables.get("host_activate_seconds", 5)), "host_up", host=hid, gen=gen, job=job,
                      code=16)
        return self.action_result(job=job)

    def timer_host_up(self, host, gen, job=None, code=None):
        obj = self.store.get("hosts", host)
        if obj is None or self.store.x("hosts", host).get("gen") != gen:
            return
        if self.store.x("hosts", host).get("crashed") or self.store.x("hosts", host).get("stuck_on_reboot"):
            self.set_host_status(obj, H.NON_RESPONSIVE)
            self.emit(9027, "Host %s is not responding. It will stay in Connecting state for a grace period "
                            "and afterwards fencing will start." % obj.name, "warning", host=host,
                      cluster=obj.cluster.id)
            if job:
                self.end_job(job, ok=False)
            return
        self.set_host_status(obj, H.UP)
        if code == 16:
            self.emit(16, "Activation of host %s initiated by admin@internal-authz." % obj.name, host=host,
                      cluster=obj.cluster.id)
        elif code:
            self.emit(code, "Host %s is up." % obj.name, host=host, cluster=obj.cluster.id)
        if job:
            self.end_job(job)

    # -- upgrade ---------------------------------------------------------------------------------
    def action_hosts_upgradecheck(self, parent, hid, action, query):
        host = self.must("hosts", hid)
        self.emit(884, "Started to check for available updates on host %s." % host.name, host=hid,
                  cluster=host.cluster.id)
        self.schedule(float(self.tunables.get("upgrade_check_seconds", 10)), "upgrade_checked", host=hid)
        return self.action_result()

    def timer_upgrade_checked(self, host):
        obj = self.store.get("hosts", host)
        if obj is None:
            return
        pending = bool(self.store.x("hosts", host).get("pending_update"))
        obj.update_available = pending
        self.store.touch("hosts", host)
        self.emit(885, "Check for available updates on host %s was completed successfully with message '%s'." % (
            obj.name, "found updates for packages vdsm, ovirt-host" if pending else "no updates found."),
            host=host, cluster=obj.cluster.id)

    def action_hosts_upgrade(self, parent, hid, action, query):
        host = self.must("hosts", hid)
        if host.status not in (H.UP, H.MAINTENANCE, H.NON_OPERATIONAL):
            raise conflict("Cannot upgrade Host. Valid Host statuses for upgrade are Up, Maintenance, and "
                           "Non-Operational.")
        reboot = True if action.reboot is None else bool(action.reboot)
        job = self.start_job("Upgrading Host %s" % host.name, correlation_id=action.correlation_id)
        x = self.store.x("hosts", hid)
        x["upgrade_initial"] = host.status.value
        if host.status == H.UP:
            x["upgrade_reboot"] = reboot
            x["upgrade_job"] = job
            self.begin_maintenance(host, then="upgrade")
        else:
            self._upgrade_install(host, reboot, job)
        return self.action_result(job=job)

    def _upgrade_install(self, host, reboot, job):
        gen = self._bump_host(host.id)
        self.set_host_status(host, H.INSTALLING)
        self.emit(840, "Host %s upgrade was started (User: admin@internal-authz)." % host.name, host=host.id,
                  cluster=host.cluster.id)
        self.schedule(float(self.tunables.get("upgrade_install_seconds", 120)), "upgrade_installed",
                      host=host.id, gen=gen, reboot=reboot, job=job)

    def timer_upgrade_installed(self, host, gen, reboot, job):
        obj = self.store.get("hosts", host)
        x = self.store.x("hosts", host)
        if obj is None or x.get("gen") != gen:
            return
        if self.take_fault("upgrade_failure", host=obj.name):
            self.set_host_status(obj, H.INSTALL_FAILED)
            self.emit(841, "Failed to upgrade Host %s (User: admin@internal-authz)." % obj.name, "error",
                      host=host, cluster=obj.cluster.id)
            self.end_job(job, ok=False)
            return
        x["pending_update"] = False
        obj.update_available = False
        obj.os = obj.os or T.OperatingSystem()
        x["upgrades"] = x.get("upgrades", 0) + 1
        if reboot:
            self.emit(888, "Host %s upgrade was completed successfully and will be rebooted." % obj.name,
                      host=host, cluster=obj.cluster.id)
            self.set_host_status(obj, H.REBOOT)
            if self.take_fault("host_not_returning", host=obj.name):
                x["stuck_on_reboot"] = True
            self.schedule(float(self.tunables.get("host_reboot_seconds", 180)), "host_rebooted", host=host,
                          gen=gen, job=job)
        else:
            self.emit(842, "Host %s upgrade was completed successfully." % obj.name, host=host,
                      cluster=obj.cluster.id)
            if x.pop("upgrade_initial", "maintenance") == "maintenance":
                self.set_host_status(obj, H.MAINTENANCE)
                self.end_job(job)
            else:
                # UpgradeHostInternalCommand: a host that was not in maintenance goes Initializing, then Up.
                self.set_host_status(obj, H.INITIALIZING)
                self.schedule(float(self.tunables.get("host_activate_seconds", 5)), "host_up", host=host, gen=gen,
                              job=job)

    def timer_host_rebooted(self, host, gen, job=None):
        obj = self.store.get("hosts", host)
        x = self.store.x("hosts", host)
        if obj is None or x.get("gen") != gen:
            return
        if x.get("stuck_on_reboot"):
            self.set_host_status(obj, H.NON_RESPONSIVE)
            self.emit(9027, "Host %s is not responding." % obj.name, "warning", host=host, cluster=obj.cluster.id)
            if job:
                self.end_job(job, ok=False)
            return
        # SshHostRebootCommand: a host that was in maintenance before the upgrade stays there; any other comes
        # back non-responsive and host monitoring brings it up once it answers.
        initial = x.pop("upgrade_initial", "maintenance") if job else "maintenance"
        if job:
            self.emit(842, "Host %s upgrade was completed successfully." % obj.name, host=host,
                      cluster=obj.cluster.id)
        if initial in ("maintenance", "installing"):
            self.set_host_status(obj, H.MAINTENANCE)
            if job:
                self.end_job(job)
        else:
            self.set_host_status(obj, H.NON_RESPONSIVE)
            self.schedule(float(self.tunables.get("host_activate_seconds", 5)), "host_up", host=host, gen=gen,
                          job=job, code=13)

    # -- fencing ---------------------------------------------------------------------------------
    def _bmc(self, host_id):
        return self.store.x("hosts", host_id).setdefault("bmc", {"power": "on"})

    def _agent_works(self, host_id, agent):
        bmc = self._bmc(host_id)
        if self.take_fault("bmc_unreachable", host=self.store.get("hosts", host_id).name, consume=False):
            return False, "Failed to connect to %s: connection timed out" % agent.address
        if agent.address != bmc.get("address"):
            return False, "Unable to connect/login to fencing device %s" % agent.address
        if agent.username != bmc.get("username") or self.store.extra.get("host_agents", {}).get(
                agent.id, {}).get("password") != bmc.get("password"):
            return False, "Unable to connect/login to fencing device %s: invalid credentials" % agent.address
        if agent.type != bmc.get("type", "ipmilan"):
            return False, "Fence agent %s cannot talk to a %s BMC" % (agent.type, bmc.get("type", "ipmilan"))
        return True, None

    def fence_via_agents(self, host):
        """Try the host's agents in order; returns (ok, message)."""
        agents = sorted(self.store.list("host_agents", host.id), key=lambda a: a.order or 0)
        if not agents:
            return False, "no fence agents configured"
        last = None
        for agent in agents:
            ok, msg = self._agent_works(host.id, agent)
            if ok:
                return True, agent.address
            last = msg
        return False, last

    def action_hosts_fence(self, parent, hid, action, query):
        host = self.must("hosts", hid)
        kind = (action.fence_type or "").lower()
        if kind not in ("status", "start", "stop", "restart", "manual"):
            raise bad_request("Invalid value '%s' for field 'fence_type': allowed values are status, start, stop, "
                              "restart, manual" % kind)
        bmc = self._bmc(hid)
        if kind == "manual":
            if host.status not in (H.NON_RESPONSIVE, H.DOWN, H.REBOOT, H.CONNECTING):
                raise conflict("Cannot confirm 'Host has been rebooted' Host. Host is %s." % host.status.value)
            self._host_lost_vms(host, manual=True)
            return self.action_result()
        pm = host.power_management
        if pm is None or not pm.enabled:
            if kind == "status":
                return self.action_result(status="failed", fault=T.Fault(
                    reason="Operation Failed", detail="[Power Management is not enabled for Host %s.]" % host.name))
            raise conflict("Cannot %s Host. Fence is disabled due to the Cluster Fencing Policy or Power "
                           "Management is not enabled." % kind)
        ok, msg = self.fence_via_agents(host)
        if kind == "status":
            if not ok:
                self.emit(497, "Failed to verify Host %s power management: %s." % (host.name, msg), "error",
                          host=hid, cluster=host.cluster.id)
                return self.action_result(status="failed", fault=T.Fault(reason="Operation Failed", detail="[%s]" % msg),
                                          power_management=T.PowerManagement(status=T.PowerManagementStatus.UNKNOWN))
            self.emit(496, "Host %s power management was verified successfully." % host.name, host=hid,
                      cluster=host.cluster.id)
            return self.action_result(power_management=T.PowerManagement(
                status=T.PowerManagementStatus(bmc.get("power", "on"))))
        if not ok:
            self.emit(9019, "Power Management %s operation failed on Host %s: %s" % (kind, host.name, msg), "error",
                      host=hid, cluster=host.cluster.id)
            raise conflict("Cannot %s Host %s: %s." % (kind, host.name, msg))
        if kind in ("restart", "stop") and host.status in (H.UP, H.PREPARING_FOR_MAINTENANCE):
            if host.status == H.UP and not (action.maintenance_after_restart or query.get("force")):
                pass
        self.do_fence(host, kind, initiator="admin@internal-authz")
        return self.action_result(power_management=T.PowerManagement(status=T.PowerManagementStatus(
            "off" if kind == "stop" else "on")))

    def do_fence(self, host, kind, initiator="the Engine"):
        bmc = self._bmc(host.id)
        self.emit(9017, "Power Management %s operation initiated on Host %s by %s." % (kind, host.name, initiator),
                  host=host.id, cluster=host.cluster.id)
        gen = self._bump_host(host.id)
        if kind in ("stop", "restart"):
            bmc["power"] = "off"
            self._host_lost_vms(host)
            self.set_host_status(host, H.DOWN)
        if kind in ("start", "restart"):
            bmc["power"] = "on"
            x = self.store.x("hosts", host.id)
            x.pop("crashed", None)
            self.set_host_status(host, H.REBOOT)
            self.emit(121 if initiator == "the Engine" else 41, "Host %s was restarted by %s." % (host.name, initiator),
                      host=host.id, cluster=host.cluster.id)
            self.schedule(float(self.tunables.get("host_reboot_seconds", 180)), "host_up", host=host.id, gen=gen,
                          code=14)
        self.emit(9018, "Power Management %s operation succeeded on Host %s." % (kind, host.name), host=host.id,
                  cluster=host.cluster.id)

    def _host_lost_vms(self, host, manual=False):
        """The host was fenced or confirmed rebooted: its VMs are down; HA VMs restart elsewhere."""
        lost = [v for v in self.vms_on_host(host.id) if v.host is not None and v.host.id == host.id]
        restart = []
        for vm in lost:
            self._vm_down(vm, error="its host %s was %s" % (host.name, "confirmed rebooted" if manual else "fenced"),
                          announce=False)
            self.emit(143, "Vm %s was shut down due to %s host reboot or manual fence" % (vm.name, host.name),
                      vm=vm.id, host=host.id, cluster=vm.cluster.id)
            if vm.high_availability is not None and vm.high_availability.enabled:
                restart.append(vm)
        restart.sort(key=lambda v: -(v.high_availability.priority or 0))
        for i, vm in enumerate(restart):
            self.schedule(float(self.tunables.get("ha_restart_delay_seconds", 5)) + 0.001 * i, "ha_restart", vm=vm.id)

    # -- crashes (fault injection) ---------------------------------------------------------------
    def crash_host(self, host, network_only=False):
        x = self.store.x("hosts", host.id)
        x["crashed"] = True
        x["network_only"] = bool(network_only)
        gen = self._bump_host(host.id)
        self.set_host_status(host, H.NON_RESPONSIVE)
        self.emit(9027, "Host %s is not responding. It will stay in Connecting state for a grace period and "
                        "afterwards fencing will start." % host.name, "warning", host=host.id, cluster=host.cluster.id)
        on_host = [v for v in self.vms_on_host(host.id) if v.host is not None and v.host.id == host.id]
        # HA VMs by priority, so lease expiries (scheduled a millisecond apart) restart them in that order.
        on_host.sort(key=lambda v: -((v.high_availability.priority or 0) if v.high_availability else 0))
        for rank, vm in enumerate(on_host):
            self._bump(vm.id)
            self._set_status(vm, T.VmStatus.UNKNOWN)
            self.emit(126, "VM %s is not responding." % vm.name, "warning", vm=vm.id, host=host.id,
                      cluster=vm.cluster.id)
            # A VM lease on storage expires when its dead host stops renewing it; not when only the network is
            # gone (the host still holds the lease, and restarting the VM elsewhere would split its brain).
            ha = vm.high_availability is not None and vm.high_availability.enabled
            if vm.lease is not None and ha and not network_only:
                self.schedule(float(self.tunables.get("lease_expiry_seconds", 80)) + 0.001 * rank, "lease_expired",
                              vm=vm.id, host=host.id, gen=gen)
        self.schedule(float(self.tunables.get("fence_grace_seconds", 60)), "fence_check", host=host.id, gen=gen)

    # -- the Engine's reaction to a non-responsive host -----------------------------------------------
    def fencing_decision(self, host):
        """What the Engine's cluster fencing policy says for a non-responsive host: (fence?, code, reason)."""
        cluster = self.store.get("clusters", host.cluster.id)
        fp = cluster.fencing_policy if cluster is not None else None
        if fp is None or not fp.enabled:
            return False, 9026, "fencing is disabled in the Cluster Fencing Policy"
        peers = [h for h in self.store.list("hosts") if h.cluster and h.cluster.id == host.cluster.id]
        lost = [h for h in peers if h.status in (H.NON_RESPONSIVE, H.CONNECTING)]
        sic = fp.skip_if_connectivity_broken
        if sic is not None and sic.enabled:
            threshold = sic.threshold if sic.threshold is not None else 50
            share = 100.0 * len(lost) / max(1, len(peers))
            if share >= threshold:
                return False, 9028, ("%d of %d hosts of cluster %s lost connectivity (%d%%, threshold %d%%): "
                                     "fencing skipped to avoid a fencing storm" % (
                                         len(lost), len(peers), cluster.name, share, threshold))
        sda = fp.skip_if_sd_active
        if sda is not None and sda.enabled and self.store.x("hosts", host.id).get("network_only"):
            return False, 9029, "the host is still renewing its storage domain lease (skip if storage domain active)"
        pm = host.power_management
        if pm is None or not pm.enabled or not self.store.list("host_agents", host.id):
            return False, 9000, "power management is not configured"
        proxies = [h for h in peers if h.id != host.id and h.status == H.UP]
        if not proxies:
            return False, 9024, "no up host in cluster %s can act as fence proxy" % cluster.name
        return True, None, sorted(proxies, key=lambda h: h.name)[0].name

    def timer_fence_check(self, host, gen):
        obj = self.store.get("hosts", host)
        x = self.store.x("hosts", host)
        if obj is None or x.get("gen") != gen or obj.status not in (H.NON_RESPONSIVE, H.CONNECTING):
            return
        fence, code, detail = self.fencing_decision(obj)
        if not fence:
            x["fence_skipped"] = detail
            self.emit(code, "Host %s became non responsive and was not restarted: %s." % (obj.name, detail),
                      "alert", host=host, cluster=obj.cluster.id)
            return
        self.emit(9020, "Executing power management restart on Host %s using Proxy Host %s." % (obj.name, detail),
                  host=host, cluster=obj.cluster.id)
        ok, msg = self.fence_via_agents(obj)
        if not ok:
            x["fence_skipped"] = msg
            self.emit(9019, "Power Management restart operation failed on Host %s: %s" % (obj.name, msg), "error",
                      host=host, cluster=obj.cluster.id)
            return
        x.pop("fence_skipped", None)
        self.do_fence(obj, "restart")

    def timer_lease_expired(self, vm, host, gen):
        obj = self.store.get("vms", vm)
        hx = self.store.x("hosts", host)
        if obj is None or hx.get("gen") != gen or obj.status != T.VmStatus.UNKNOWN or obj.host is None \
                or obj.host.id != host:
            return
        self._vm_down(obj, error="VM lease expired on its unreachable host")
        self.emit(9602, "Highly Available VM %s failed. It will be restarted automatically." % obj.name, "error",
                  vm=vm, host=host, cluster=obj.cluster.id)
        self.schedule(0.001, "ha_restart", vm=vm)

    def recover_host(self, host):
        x = self.store.x("hosts", host.id)
        x.pop("crashed", None)
        x.pop("stuck_on_reboot", None)
        if host.status in (H.NON_RESPONSIVE, H.CONNECTING):
            self.set_host_status(host, H.UP)
            self.emit(14, "Host %s recovered." % host.name, host=host.id, cluster=host.cluster.id)
            for vm in self.store.list("vms"):
                if vm.status == T.VmStatus.UNKNOWN and vm.host is not None and vm.host.id == host.id:
                    self._set_status(vm, T.VmStatus.UP)

    # -- fence agents -----------------------------------------------------------------------------
    def _agent_check(self, agent, hid, existing=None):
        if agent.type is not None and agent.type not in self.FENCE_TYPES:
            raise bad_request("Invalid value '%s' for field 'type': allowed fence agent types are %s" % (
                agent.type, ", ".join(self.FENCE_TYPES)))
        if existing is None:
            # AddFenceAgentCommand: address, type, username and password are mandatory; order is not checked.
            if not all(getattr(agent, f) is not None for f in ("address", "type", "username", "password")):
                raise conflict("Cannot Add Fence-Agent. One or more mandatory parameters were not provided. "
                               "Mandatory parameters are: type, order, ip, username, address, password.")

    def add_host_agents(self, hid, agent, query):
        host = self.must("hosts", hid)
        self._agent_check(agent, hid)
        password = agent.password
        stored = T.Agent(id=new_id(), address=agent.address, type=agent.type, username=agent.username,
                         port=agent.port, order=agent.order or len(self.store.list("host_agents", hid)) + 1,
                         options=agent.options, encrypt_options=bool(agent.encrypt_options),
                         concurrent=bool(agent.concurrent), host=ref("hosts", hid))
        self.store.put("host_agents", stored, parent=hid, extra={"password": password})
        self.emit(9005, "Fence agent %s was added to host %s." % (agent.address, host.name), host=hid,
                  cluster=host.cluster.id)
        return render("host_agents", stored, hid)

    def update_host_agents(self, hid, aid, agent, query):
        stored = self.must("host_agents", aid, hid)
        self._agent_check(agent, hid, existing=stored)
        if agent.password is not None:
            self.store.x("host_agents", aid)["password"] = agent.password
        agent.password = None
        merge(stored, agent, skip=("host",))
        self.store.touch("host_agents", aid)
        return render("host_agents", stored, hid)

    # -- statistics ---------------------------------------------------------------------------------
    def view_hosts_statistics(self, hid, query):
        host = self.must("hosts", hid)
        up = host.status == H.UP
        total = host.memory or 0
        vms = len(self.vms_on_host(hid))
        cfg, cluster, now = self.tunables.get("load"), self.cluster_name_of(host), self.now()
        used = self.host_committed(hid) if up else 0
        if up and cfg:
            used = int(total * level(cfg, cluster, "memory", 100.0 * used / total if total else 0.0, now) / 100.0)
        cpu_user = base_user = min(95.0, 2.0 + 3.5 * vms)
        if up and cfg:
            cpu_user = level(cfg, cluster, "cpu", cpu_user, now, cap=97.0)
        stats = [
            _stat("memory.total", "Total memory", total, "bytes", "integer"),
            _stat("memory.used", "Used memory", used, "bytes", "integer"),
            _stat("memory.free", "Free memory", max(0, total - used), "bytes", "integer"),
            _stat("memory.shared", "Shared memory", 0, "bytes", "integer"),
            _stat("swap.total", "Total swap", 8 * GIB, "bytes", "integer"),
            _stat("swap.used", "Used swap", 0, "bytes", "integer"),
            _stat("ksm.cpu.current", "KSM CPU usage", 0.0, "percent"),
            _stat("cpu.current.user", "User CPU usage", cpu_user if up else 0.0, "percent"),
            _stat("cpu.current.system", "System CPU usage", 1.0 if up else 0.0, "percent"),
            _stat("cpu.current.idle", "Idle CPU", max(0.0, 97.0 - 3.5 * vms - (cpu_user - base_user)) if up else 100.0,
                  "percent"),
            _stat("cpu.load.avg.5m", "CPU 5 minute load average", round(0.3 * vms, 2) if up else 0.0, "none"),
            _stat("boot.time", "Boot time of the machine", int(self.store.x("hosts", hid).get("boot_time", 0)),
                  "seconds", "integer"),
        ]
        owner = ref("hosts", hid)
        return [_own(s, "hosts", hid, owner) for s in stats]

    def cluster_name_of(self, obj):
        cluster = self.store.get("clusters", obj.cluster.id) if obj.cluster is not None else None
        return cluster.name if cluster is not None else ""

    def view_host_nics_statistics(self, nid, query):
        """Receive/transmit rates of a host NIC: ~5 %% of its speed per VM on the host, moving with the clock."""
        hid = self.store.parent_of("host_nics", nid)
        nic, host = self.store.get("host_nics", nid), self.store.get("hosts", hid)
        if nic is None or host is None:
            raise ApiError(404)
        speed = nic.speed or 10 ** 9
        pct = 0.0
        if host.status == H.UP:
            pct = level(self.tunables.get("load"), self.cluster_name_of(host), "network",
                        min(60.0, 0.5 * len(self.vms_on_host(hid))), self.now())
        rate = int(speed / 8 * pct / 100.0)   # bytes per second, rx and tx alike
        stats = [_stat("data.current.rx", "Receive data rate", rate, "bytes_per_second", "integer"),
                 _stat("data.current.tx", "Transmit data rate", rate, "bytes_per_second", "integer"),
                 _stat("data.current.rx.bps", "Receive data rate", rate * 8, "bits_per_second", "integer"),
                 _stat("data.current.tx.bps", "Transmit data rate", rate * 8, "bits_per_second", "integer"),
                 _stat("errors.total.rx", "Total received errors", 0, "none", "integer"),
                 _stat("errors.total.tx", "Total transmitted errors", 0, "none", "integer")]
        for stat in stats:
            stat.href = "/ovirt-engine/api/hosts/%s/nics/%s/statistics/%s" % (hid, nid, stat.id)
        return stats

    def list_host_nics(self, hid, query):
        self.must("hosts", hid)
        return self.list_generic("host_nics", hid)
