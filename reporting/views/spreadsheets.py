"""Spreadsheet pages: template downloads, uploads with a dry-run preview, admin exports.

Who may do what is decided by the selectors and services: a reporter downloads and uploads
only their own institution's return (anything else is a 404), a province liaison may
download the returns they can see, and only society admins import many institutions at once
or export an edition.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from institutions.models import Institution
from institutions.selectors import user_is_society_admin
from jobs.selectors import job_list_owned_by
from jobs.services import job_step_queue
from jobs.views import export_job_page
from reporting.models import Edition, ReturnStatus
from reporting.rules.engine import questionnaire_compiled
from reporting.selectors import edition_current, return_list_visible_to
from reporting.services.export_jobs import EXPORT_KIND, returns_export_job_start
from reporting.services.exports import returns_export_csv_chunks, returns_export_xlsx_file
from reporting.services.imports import answers_of_returns
from reporting.services.returns import return_can_edit
from reporting.spreadsheets.jobs import IMPORT_STEP, JobState, job_create, job_load, job_task_send
from reporting.spreadsheets.layout import edition_items
from reporting.spreadsheets.reading import MAX_BYTES, spreadsheet_cap
from reporting.spreadsheets.workbooks import return_template_workbook_build, template_workbook_build
from reporting.tasks.spreadsheets import spreadsheet_check_task, spreadsheet_import_task

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_FORMATS = ("csv", "xlsx")
PREVIEW_RETURNS_SHOWN = 300


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Filled template (.xlsx or .csv)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = spreadsheet_cap("MAX_BYTES", MAX_BYTES)
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is %(size)s MB; the limit is %(limit)s MB.")
                % {"size": f"{upload.size / 1024 / 1024:.1f}", "limit": f"{limit / 1024 / 1024:.0f}"}
            )
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        return upload


class BulkUploadForm(UploadForm):
    approve = forms.BooleanField(
        required=False,
        label=gettext_lazy("Mark the imported returns approved (they enter the national figures)"),
    )


def _admin_or_404(request) -> None:
    # Not a 403: the admin pages' existence is nobody else's business.
    if not user_is_society_admin(request.user):
        raise Http404


def _xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _return_values(survey_return) -> dict:
    items_by_id = {item.id: item for item in questionnaire_compiled(survey_return.edition).items.values()}
    answers = answers_of_returns([survey_return.pk], items_by_id).get(survey_return.pk, {})
    return {code: value for code, (_id, value) in answers.items()}


# --- a reporter's own return ---------------------------------------------------------------


@login_required
def return_template(request, return_id: int):
    """The template with this return's current answers (?blank=1: only the institution filled in),
    one item a row (?layout=wide: one row with a column per item, as for many institutions)."""
    survey_return = get_object_or_404(return_list_visible_to(user=request.user), pk=return_id)
    institution = survey_return.institution
    values = {} if request.GET.get("blank") else _return_values(survey_return)
    items = edition_items(survey_return.edition)
    language = get_language() or "zh-hans"
    if request.GET.get("layout") == "wide":
        content = template_workbook_build(
            edition=survey_return.edition, items=items, rows=[(institution.code, institution.name, values)],
            language=language,
        )
    else:
        content = return_template_workbook_build(
            edition=survey_return.edition, items=items, institution_code=institution.code,
            institution_name=institution.name, values=values, language=language,
        )
    return _xlsx_response(content, f"survey-{survey_return.edition.year}-{institution.code}.xlsx")


@login_required
def return_upload(request, return_id: int):
    survey_return = get_object_or_404(return_list_visible_to(user=request.user), pk=return_id)
    if not return_can_edit(user=request.user, survey_return=survey_return):
        if not user_is_society_admin(request.user) and (
            getattr(getattr(request.user, "membership", None), "institution_id", None) != survey_return.institution_id
        ):
            raise Http404  # a liaison sees the return but it is not theirs to fill in
        raise PermissionDenied(_("This return cannot be changed now (it is %(status)s or entry is closed).")
                               % {"status": survey_return.get_status_display()})
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        job = job_create(
            owner=request.user, edition=survey_return.edition, institution=survey_return.institution,
            approve=False, filename=upload.name, content=upload,
            language=get_language() or "zh-hans", return_id=survey_return.pk,
        )
        job_task_send(spreadsheet_check_task, job.id)
        return redirect("spreadsheets:job", job_id=job.id)
    return render(request, "reporting/spreadsheets/upload.html", {
        "form": form, "survey_return": survey_return, "edition": survey_return.edition, "bulk": False,
    })


# --- society admins: many institutions ---------------------------------------------------------


def _edition_or_404(year: int) -> Edition:
    edition = get_object_or_404(Edition, year=year)
    if not edition.items.exists():
        raise Http404
    return edition


@login_required
def index(request):
    _admin_or_404(request)
    editions = Edition.objects.filter(items__isnull=False).distinct().order_by("-year")
    return render(request, "reporting/spreadsheets/index.html", {
        "editions": editions, "current": edition_current(),
        "export_jobs": job_list_owned_by(user=request.user, kind=EXPORT_KIND),
    })


@login_required
def edition_template(request, year: int):
    """Every active institution, one row each; ?prefill=1 adds their current answers."""
    _admin_or_404(request)
    edition = _edition_or_404(year)
    items = edition_items(edition)
    institutions = list(Institution.objects.active().order_by("code").values_list("id", "code", "name"))
    values_by_institution: dict[int, dict] = {}
    if request.GET.get("prefill"):
        returns = dict(return_list_visible_to(user=request.user, edition=edition).values_list("id", "institution_id"))
        items_by_id = {item.id: item for item in questionnaire_compiled(edition).items.values()}
        for return_id, answers in answers_of_returns(list(returns), items_by_id).items():
            values_by_institution[returns[return_id]] = {code: value for code, (_id, value) in answers.items()}
    rows = ((code, name, values_by_institution.get(pk, {})) for pk, code, name in institutions)
    content = template_workbook_build(edition=edition, items=items, rows=rows,
                                      language=get_language() or "zh-hans", spare_rows=50)
    return _xlsx_response(content, f"survey-{edition.year}-all-institutions.xlsx")


@login_required
def edition_import(request, year: int):
    _admin_or_404(request)
    edition = _edition_or_404(year)
    form = BulkUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        job = job_create(
            owner=request.user, edition=edition, institution=None, approve=form.cleaned_data["approve"],
            filename=upload.name, content=upload, language=get_language() or "zh-hans",
        )
        job_task_send(spreadsheet_check_task, job.id)
        return redirect("spreadsheets:job", job_id=job.id)
    return render(request, "reporting/spreadsheets/upload.html", {
        "form": form, "edition": edition, "bulk": True,
    })


@login_required
def edition_export(request, year: int, fmt: str):
    """One row per institution, streamed: CSV as it is produced, XLSX from a write-only workbook."""
    _admin_or_404(request)
    if fmt not in EXPORT_FORMATS:
        raise Http404("unknown export format")
    edition = _edition_or_404(year)
    statuses = [s for s in request.GET.getlist("status") if s in ReturnStatus.values] or None
    filename = f"returns-{edition.year}"
    if fmt == "csv":
        response = StreamingHttpResponse(
            returns_export_csv_chunks(edition=edition, statuses=statuses), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    return FileResponse(
        returns_export_xlsx_file(edition=edition, statuses=statuses), as_attachment=True,
        filename=f"{filename}.xlsx", content_type=XLSX_TYPE,
    )


# --- exports prepared in the background ----------------------------------------------------------


class ExportJobForm(forms.Form):
    fmt = forms.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "XLSX")])
    approved_only = forms.BooleanField(required=False)


@login_required
@require_POST
def edition_export_job(request, year: int):
    """Start an export as a background job: a worker writes the file, any host serves it."""
    _admin_or_404(request)
    edition = _edition_or_404(year)
    form = ExportJobForm(request.POST)
    if not form.is_valid():
        raise Http404
    job = returns_export_job_start(
        edition=edition, actor=request.user, fmt=form.cleaned_data["fmt"],
        statuses=[ReturnStatus.APPROVED] if form.cleaned_data["approved_only"] else None,
        language=get_language() or "zh-hans",
    )
    return redirect("spreadsheets:export_job", job_id=job.pk)


@login_required
def export_job_detail(request, job_id):
    return export_job_page(request, job_id, kind=EXPORT_KIND, template="reporting/spreadsheets/export_job.html")


# --- an upload's preview, progress and confirmation ----------------------------------------------


def _job_or_404(request, job_id: str):
    job = job_load(job_id, user=request.user)
    if job is None:
        raise Http404
    return job


def _after_import_url(job) -> str:
    if job.return_id:
        try:
            return reverse("entry:return", kwargs={"pk": job.return_id})
        except NoReverseMatch:
            pass
    return reverse("spreadsheets:index") if job.institution_id is None else reverse("home")


@login_required
def job_detail(request, job_id: str):
    job = _job_or_404(request, job_id)
    edition = get_object_or_404(Edition, pk=job.edition_id)
    shown_returns, hidden_returns = [], 0
    if job.plan:
        items = questionnaire_compiled(edition).items
        labels = {code: item.label() for code, item in items.items()}
        # A national file has thousands of institutions: list the first ones, count the rest.
        shown_returns = job.plan["returns"][:PREVIEW_RETURNS_SHOWN]
        hidden_returns = len(job.plan["returns"]) - len(shown_returns)
        for entry in shown_returns:
            for change in entry["changes"]:
                change["label"] = labels.get(change["code"], "")
    return render(request, "reporting/spreadsheets/job.html", {
        "job": job, "edition": edition, "plan": job.plan, "result": job.result,
        "shown_returns": shown_returns, "hidden_returns": hidden_returns,
        "problems": job.problems, "states": JobState, "running": job.state in JobState.RUNNING,
        "after_url": _after_import_url(job),
        "retry_url": (reverse("spreadsheets:return_upload", kwargs={"return_id": job.return_id})
                      if job.return_id else reverse("spreadsheets:edition_import", kwargs={"year": edition.year})),
    })


@login_required
def job_status(request, job_id: str):
    job = _job_or_404(request, job_id)
    return JsonResponse({"state": job.state, "phase": job.phase, "done": job.done, "total": job.total,
                         "percent": job.percent})


@login_required
@require_POST
def job_confirm(request, job_id: str):
    job = _job_or_404(request, job_id)
    if job.state != JobState.PREVIEWED:
        messages.warning(request, _("This upload cannot be imported (it was already imported or rejected)."))
        return redirect("spreadsheets:job", job_id=job.id)
    if job.institution_id is None and not user_is_society_admin(request.user):
        raise Http404
    if job.return_id is not None:
        # Entry may have closed, or the return been submitted, since the preview.
        survey_return = get_object_or_404(return_list_visible_to(user=request.user), pk=job.return_id)
        if not return_can_edit(user=request.user, survey_return=survey_return):
            messages.error(request, _("This return cannot be changed now; nothing was imported."))
            return redirect("spreadsheets:job", job_id=job.id)
    # Row-locked: a second confirmation (a double click reaching another app host) finds the
    # job importing already and queues nothing.
    if job_step_queue(job_id=job.job.pk, actor=request.user, step=IMPORT_STEP) is None:
        messages.warning(request, _("This upload cannot be imported (it was already imported or rejected)."))
        return redirect("spreadsheets:job", job_id=job.id)
    job_task_send(spreadsheet_import_task, job.id)
    return redirect("spreadsheets:job", job_id=job.id)
