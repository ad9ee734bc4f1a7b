# SPDX-License-Identifier: GPL-3.0-or-later
"""Jobs and steps as the Engine's REST API exposes them: external jobs (AddExternalJobCommand,
EndExternalJobCommand, ClearExternalJobCommand), external steps (AddExternalStepCommand,
EndExternalStepCommand) and the JobRepositoryCleanupManager that removes auto-cleared jobs."""

import datetime

from ovirtsdk4 import types as T

from .core import new_id
from .model import ApiError, bad_request, ref, render

ADMIN_ID = "fdfc627c-d875-11e0-90f0-83df133b58cc"
# ConfigValues SucceededJobCleanupTimeInMinutes / FailedJobCleanupTimeInMinutes (0000_config.sql)
SUCCEEDED_JOB_CLEANUP_MINUTES = 10
FAILED_JOB_CLEANUP_MINUTES = 60
_ENDED = (T.JobStatus.FINISHED, T.JobStatus.FAILED, T.JobStatus.ABORTED, T.JobStatus.UNKNOWN)


def incomplete(kind, fields, verb="add"):
    """The REST layer's validateParameters() failure: 400 "Incomplete parameters"."""
    return ApiError(400, "%s [%s] required for %s" % (kind, ", ".join(fields), verb), reason="Incomplete parameters")


class JobsMixin:
    def _clean_jobs(self):
        """JobRepositoryCleanupManager: auto-cleared jobs go 10 min after success, 60 min after failure."""
        now = self.now_dt()
        # engine-config can change both; here they are the tunables of the same names
        ok_before = now - datetime.timedelta(minutes=float(self.tunables.get(
            "succeeded_job_cleanup_minutes", SUCCEEDED_JOB_CLEANUP_MINUTES)))
        failed_before = now - datetime.timedelta(minutes=float(self.tunables.get(
            "failed_job_cleanup_minutes", FAILED_JOB_CLEANUP_MINUTES)))
        for job in self.store.list("jobs"):
            if not job.auto_cleared or job.end_time is None:
                continue
            if (job.status == T.JobStatus.FINISHED and job.end_time < ok_before) or \
                    (job.status in _ENDED[1:] and job.end_time < failed_before):
                for step in self.store.list("job_steps", job.id):
                    self.store.delete("job_steps", step.id)
                self.store.delete("jobs", job.id)

    def list_jobs(self, parent, query):
        self._clean_jobs()
        return self.list_generic("jobs")

    def get_jobs(self, parent, jid, query):
        self._clean_jobs()
        return self.get_generic("jobs", jid)

    def _external_job(self, jid, action_verb):
        job = self.store.get("jobs", jid)
        if job is None:
            raise ApiError(404)
        if not job.external:
            raise bad_request("Cannot %s External Job. External steps can be added only to external jobs or "
                              "steps." % action_verb)
        return job

    def add_jobs(self, parent, job, query):
        if job.description is None:
            raise incomplete("Job", ["description"])
        if not job.description.strip():
            raise bad_request("Cannot add External Job. Description can not be empty.")
        now = self.now_dt()
        stored = T.Job(id=new_id(), description=job.description, status=T.JobStatus.STARTED, start_time=now,
                       last_updated=now, auto_cleared=bool(job.auto_cleared), external=True,
                       owner=ref("users", ADMIN_ID))
        cid = getattr(self, "request_correlation_id", None)
        self.store.put("jobs", stored, extra={"correlation_id": cid} if cid else None)
        self.emit(11000, "New external Job %s was added by user admin@internal-authz" % job.description)
        return render("jobs", stored)

    def action_jobs_end(self, parent, jid, action, query):
        job = self._external_job(jid, "Clear")  # EndExternalJobCommand uses VAR__ACTION__CLEAR too
        ok = True if action.succeeded is None else bool(action.succeeded)
        self.end_job(jid, ok)
        if action.force:
            job.auto_cleared = True
            for step in self.store.list("job_steps", jid):
                if step.status == T.StepStatus.STARTED:
                    step.status = T.StepStatus.ABORTED
                    step.end_time = self.now_dt()
                    self.store.touch("job_steps", step.id)
            self.store.touch("jobs", jid)
        return self.action_result()

    def action_jobs_clear(self, parent, jid, action, query):
        job = self._external_job(jid, "Clear")
        job.auto_cleared = True
        self.store.touch("jobs", jid)
        return self.action_result()

    # -- steps ---------------------------------------------------------------------------------------
    def list_job_steps(self, jid, query):
        self.must("jobs", jid)
        return sorted(self.list_generic("job_steps", jid), key=lambda s: s.number or 0)

    def add_job_steps(self, jid, step, query):
        missing = [f for f, v in (("description", step.description), ("type", step.type)) if v is None]
        if missing:
            raise incomplete("Step", missing)
        parent_step = None
        if step.parent_step is not None:
            if step.parent_step.id is None:
                raise incomplete("Step", ["parentStep.id"])
            parent_step = self.store.get("job_steps", step.parent_step.id)
            if parent_step is None:
                raise bad_request("Cannot add External Job. Step should be a child of the Job or other Step.")
        job = self.store.get("jobs", jid)
        if job is None:
            raise ApiError(404)
        if not step.description.strip():
            raise bad_request("Cannot add External Job. Description can not be empty.")
        if not job.external:
            raise bad_request("Cannot add External Job. External steps can be added only to external jobs or "
                              "steps.")
        now = self.now_dt()
        siblings = [s for s in self.store.list("job_steps", jid)
                    if (s.parent_step.id if s.parent_step else None) == (parent_step.id if parent_step else None)]
        stored = T.Step(id=new_id(), description=step.description, type=step.type, status=T.StepStatus.STARTED,
                        number=len(siblings), start_time=now, job=ref("jobs", jid), external=True)
        if parent_step is not None:
            stored.parent_step = ref("job_steps", parent_step.id, jid)
        self.store.put("job_steps", stored, parent=jid)
        job.last_updated = now
        self.store.touch("jobs", jid)
        return render("job_steps", stored, jid)

    def action_job_steps_end(self, jid, sid, action, query):
        step = self.store.get("job_steps", sid)
        if step is None or self.store.parent_of("job_steps", sid) != jid:
            raise ApiError(404)
        if not step.external:
            raise bad_request("Cannot End External Step. External steps can be added only to external jobs or "
                              "steps.")
        ok = True if action.succeeded is None else bool(action.succeeded)
        now = self.now_dt()
        if step.status == T.StepStatus.STARTED:   # Step.markStepEnded
            step.status = T.StepStatus.FINISHED if ok else T.StepStatus.FAILED
            step.end_time = now
            self.store.touch("job_steps", sid)
        if not ok:  # ExecutionHandler.endStep: a failed step fails its job
            self.end_job(jid, False)
        return self.action_result()
