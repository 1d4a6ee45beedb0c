"""The owners' jobs page: every scheduled job, its schedule, last and next run, a live
progress bar for a running one; start a job or change its schedule after the password."""

from __future__ import annotations

import json

from celery import current_app
from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_celery_beat.models import PeriodicTask

from access.auth_views import reauth_required
from access.views import owner_required
from audit import actions
from audit import services as audit

from . import jobs, schedule
from .models import JobRun


def _row(task: PeriodicTask, last: JobRun | None, now) -> dict:
    live = last if last is not None and not last.finished else None
    return {"name": task.name, "label": jobs.label_of(task.name), "task": task,
            "schedule": schedule.describe(task), "enabled": task.enabled,
            "next_run": schedule.next_run(task), "last": last, "live": live,
            "eta": jobs.eta_seconds(live) if live else None,
            "startable": True}


def _latest_runs(names) -> dict[str, JobRun]:
    latest = {}
    for name in names:
        if (run := JobRun.objects.filter(job=name).order_by("-created_at").first()) is not None:
            latest[name] = run
    return latest


@owner_required
@require_GET
def job_list(request):
    schedule.install_defaults()  # a job added by an upgrade shows before beat restarts
    tasks = list(PeriodicTask.objects.select_related("crontab", "interval")
                 .exclude(name__startswith="celery.").order_by("name"))
    now = timezone.now()
    for run in JobRun.objects.filter(status__in=[JobRun.Status.QUEUED, JobRun.Status.RUNNING]):
        jobs.active_run(run.job)  # a run whose worker died shows as interrupted
    latest = _latest_runs([t.name for t in tasks])
    rows = [_row(task, latest.get(task.name), now) for task in tasks]
    rows.sort(key=lambda r: (r["name"] not in jobs.LIFECYCLE, str(r["label"])))
    return render(request, "lifecycle/jobs.html", {"rows": rows, "now": now})


class ScheduleForm(forms.Form):
    KINDS = [("cron", gettext_lazy("Cron expression")), ("interval", gettext_lazy("Every N seconds"))]
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=KINDS, widget=forms.RadioSelect)
    cron = forms.CharField(label=gettext_lazy("Cron expression (minute hour day month weekday)"),
                           required=False, max_length=120)
    seconds = forms.IntegerField(label=gettext_lazy("Every (seconds)"), required=False,
                                 min_value=10)
    enabled = forms.BooleanField(label=gettext_lazy("Enabled"), required=False)

    def clean(self):
        data = super().clean()
        if data.get("kind") == "cron":
            try:
                _check_cron(data.get("cron") or "")
            except ValueError:
                self.add_error("cron", _("Give five fields: minute hour day month weekday, "
                                         "for example 30 4 * * 0."))
        elif data.get("kind") == "interval" and not data.get("seconds"):
            self.add_error("seconds", _("Give the number of seconds between runs (10 or more)."))
        return data


def _check_cron(expression: str) -> None:
    from celery.schedules import crontab

    parts = expression.split()
    if len(parts) != 5:
        raise ValueError(expression)
    crontab(*parts)


def _task(name: str) -> PeriodicTask:
    return get_object_or_404(PeriodicTask.objects.select_related("crontab", "interval"),
                             name=name)


@owner_required
@require_http_methods(["GET", "POST"])
def job_detail(request, name):
    task = _task(name)
    if request.method == "POST":
        return _change_schedule(request, task)
    form = ScheduleForm(initial=_initial(task))
    return _detail(request, task, form)


def _initial(task: PeriodicTask) -> dict:
    if task.crontab_id:
        return {"kind": "cron", "cron": schedule.cron_text(task.crontab), "enabled": task.enabled}
    seconds = task.interval.every * schedule.PERIOD_SECONDS.get(task.interval.period, 1) \
        if task.interval_id else None
    return {"kind": "interval", "seconds": seconds, "enabled": task.enabled}


def _detail(request, task, form, status=200):
    runs = list(JobRun.objects.filter(job=task.name).order_by("-created_at")[:20])
    live = next((r for r in runs if not r.finished), None)
    return render(request, "lifecycle/job_detail.html", {
        "task": task, "label": jobs.label_of(task.name), "form": form, "runs": runs,
        "live": live, "eta": jobs.eta_seconds(live) if live else None,
        "schedule": schedule.describe(task), "next_run": schedule.next_run(task),
        "may_disable": jobs.may_disable(task.name), "lifecycle": task.name in jobs.LIFECYCLE,
    }, status=status)


@reauth_required
def _change_schedule(request, task):
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        return _detail(request, task, form, status=400)
    before = {"schedule": schedule.spec(task), "enabled": task.enabled}
    data = form.cleaned_data
    with transaction.atomic():
        if data["kind"] == "cron":
            schedule.set_cron(task, " ".join(data["cron"].split()))
        else:
            schedule.set_interval(task, data["seconds"])
        if jobs.may_disable(task.name):
            task.enabled = data["enabled"]
            task.save(update_fields=["enabled"])
        after = {"schedule": schedule.spec(task), "enabled": task.enabled}
        audit.record(actor=request.user, actor_label=request.user.get_username(),
                     role="owner", action=actions.JOB_SCHEDULE_CHANGE, outcome="allowed",
                     purpose=actions.MANAGE_JOBS,
                     detail={"job": task.name, "before": before, "after": after})
    messages.success(request, _("The schedule of “%(job)s” is now %(schedule)s.")
                     % {"job": jobs.label_of(task.name), "schedule": schedule.describe(task)})
    return redirect("lifecycle:job_detail", name=task.name)


@owner_required
@reauth_required
@require_POST
def job_start(request, name):
    task = _task(name)
    audit.record(actor=request.user, actor_label=request.user.get_username(), role="owner",
                 action=actions.JOB_START, outcome="allowed", purpose=actions.MANAGE_JOBS,
                 detail={"job": name})
    if name in jobs.LIFECYCLE:
        try:
            jobs.start(name, trigger=JobRun.Trigger.OWNER, user=request.user)
        except jobs.JobBusy:
            messages.warning(request, _("“%(job)s” is already running.")
                             % {"job": jobs.label_of(name)})
            return redirect("lifecycle:job_detail", name=name)
    else:
        args, kwargs = json.loads(task.args or "[]"), json.loads(task.kwargs or "{}")
        transaction.on_commit(lambda: current_app.send_task(task.task, args=args, kwargs=kwargs))
    messages.success(request, _("“%(job)s” has been started.") % {"job": jobs.label_of(name)})
    return redirect("lifecycle:job_detail", name=name)


@owner_required
@require_GET
def run_progress(request, run_id):
    run = JobRun.objects.filter(pk=run_id).first()
    if run is None:
        raise Http404
    if not run.finished:
        run = jobs.active_run(run.job) or JobRun.objects.get(pk=run_id)
    eta = jobs.eta_seconds(run)
    return JsonResponse({
        "status": run.status, "status_label": run.get_status_display(), "done": run.done,
        "total": run.total, "finished": run.finished,
        "percent": round(100 * run.done / run.total, 1) if run.total else None,
        "eta_seconds": round(eta) if eta is not None else None,
    })
