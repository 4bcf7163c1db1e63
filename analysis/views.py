"""The reviewers' outlier list and the marks they put on flagged values."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from analysis.definitions import edition_outlier_ratios
from analysis.models import OutlierMark
from analysis.selectors import outlier_scores
from analysis.services import OutlierMarkRefused, outlier_mark
from institutions.models import Institution, Province, Role
from institutions.selectors import user_is_society_admin, user_membership
from reporting.models import Edition, SurveyReturn
from reporting.rules.engine import language_is_chinese
from reporting.services.returns import user_can_review


def _reviewer_province(user) -> str | None:
    """None for a society admin (every province), the liaison's province; others are refused."""
    if user_is_society_admin(user):
        return None
    membership = user_membership(user)
    if membership and membership.role == Role.LIAISON and membership.province_id:
        return membership.province_id
    raise PermissionDenied(_("Only provincial liaisons and society admins review returns."))


@login_required
def outlier_index(request):
    """The newest edition whose definition has outliers.csv (the open one, in the demo)."""
    _reviewer_province(request.user)
    for edition in Edition.objects.order_by("-year"):
        if edition_outlier_ratios(edition):
            return redirect("analysis:outliers", year=edition.year)
    raise Http404(_("No edition defines peer outliers."))


@login_required
def outlier_list(request, year: int):
    own_province = _reviewer_province(request.user)
    edition = get_object_or_404(Edition, year=year)
    zh = language_is_chinese()
    ratios = {ratio.key: ratio for ratio in edition_outlier_ratios(edition)}
    key = request.GET.get("key") or None
    level = request.GET.get("level") or None
    province = own_province or request.GET.get("province") or None
    scores = outlier_scores(edition=edition, province=province, keys=[key] if key in ratios else None)
    if level:
        scores = [s for s in scores if s.hospital_level == level]
    returns = SurveyReturn.objects.in_bulk([s.return_id for s in scores])
    institutions = Institution.objects.in_bulk({r.institution_id for r in returns.values()})
    marks = {(m.survey_return_id, m.key): m for m in OutlierMark.objects.filter(survey_return_id__in=list(returns))}
    rows = []
    for score in scores:
        survey_return = returns[score.return_id]
        ratio = ratios[score.key]
        rows.append({
            "score": score, "survey_return": survey_return,
            "institution": institutions[survey_return.institution_id],
            "label": ratio.label_zh if zh else ratio.label_en, "mark": marks.get((score.return_id, score.key)),
        })
    provinces = Province.objects.all() if own_province is None else Province.objects.filter(code=own_province)
    return render(request, "analysis/outliers.html", {
        "edition": edition, "rows": rows, "zh": zh,
        "ratios": [(r.key, r.label_zh if zh else r.label_en) for r in ratios.values()],
        "provinces": [(p.code, p.name_zh if zh else p.name_en) for p in provinces],
        "levels": sorted({s.hospital_level for s in scores} | ({level} if level else set())),
        "chosen": {"key": key or "", "level": level or "", "province": province or ""},
        "can_choose_province": own_province is None,
    })


@login_required
@require_POST
def outlier_mark_view(request, pk: int):
    survey_return = get_object_or_404(SurveyReturn.objects.select_related("institution", "edition"), pk=pk)
    if not user_can_review(user=request.user, survey_return=survey_return):
        raise PermissionDenied(_("Only the province's liaison and society admins review this return."))
    try:
        outlier_mark(survey_return=survey_return, key=request.POST.get("key", ""),
                     status=request.POST.get("status", ""), note=request.POST.get("note", ""), actor=request.user)
    except OutlierMarkRefused as exc:
        messages.error(request, _("The mark was not saved: %(problem)s") % {"problem": exc})
    else:
        messages.success(request, _("Mark saved; it is in the return's history."))
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect("analysis:outliers", year=survey_return.edition.year)
