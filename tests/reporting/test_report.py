"""The national report page, its downloads, the PDF and publishing."""

import io
import json
import re
import zlib
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from institutions.models import Province
from reporting.models import (
    AuditEvent,
    EditionStatus,
    FigureValue,
    Publication,
    PublishedValue,
    ReturnStatus,
)
from reporting.selectors_report import FigureShown, figure_text, report_context
from reporting.services.aggregation import edition_figures_compute
from reporting.services.publication import PublicationRefused, edition_publish
from tests.factories import (
    InstitutionFactory,
    UserFactory,
    complete_values,
    liaison,
    reporter,
    society_admin,
    survey_return,
)


@pytest.fixture
def figures(edition):
    shanghai = Province.objects.get(code="31")
    returns = [
        survey_return(edition=edition, institution=InstitutionFactory(code="R1"), status=ReturnStatus.APPROVED,
                      values=complete_values(edition, eq_pet_ct=3, staff_physician=4, svc_pet=True,
                                             rpt_performs=True, tx_i131_graves=100)),
        survey_return(edition=edition, institution=InstitutionFactory(code="R2", province=shanghai),
                      status=ReturnStatus.APPROVED,
                      values=complete_values(edition, eq_pet_ct=1, staff_nurse=2, ownership="nonpublic",
                                             hospital_level="secondary")),
    ]
    edition_figures_compute(edition_id=edition.pk)
    return returns


def _shows(page: str, key: str, text: str) -> bool:
    """Whether the page prints figure `key` as `text` (flagged or not)."""
    return re.search(rf'data-key="{key}"[^>]*>{re.escape(text)}<', page) is not None


def _get(client, user, url, language="zh-hans"):
    client.force_login(user)
    return client.get(url, HTTP_ACCEPT_LANGUAGE=language)


# ---- who may see it --------------------------------------------------------------------


def test_anonymous_users_are_sent_to_log_in(client, edition):
    response = client.get(reverse("report:page", args=[2024]))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_a_user_without_a_survey_role_is_refused(client, edition):
    assert _get(client, UserFactory(), reverse("report:page", args=[2024])).status_code == 403
    assert _get(client, UserFactory(), reverse("report:download", args=[2024, "csv"])).status_code == 403


@pytest.mark.parametrize("make_user", [reporter, liaison, society_admin])
def test_every_role_reads_the_national_report(client, edition, figures, make_user):
    response = _get(client, make_user(), reverse("report:page", args=[2024]))
    assert response.status_code == 200
    assert "调查数据" in response.content.decode()


def test_report_index_goes_to_the_newest_edition_with_a_report(client, edition):
    response = _get(client, reporter(), reverse("report:index"))
    assert response.status_code == 302
    assert response["Location"] == reverse("report:page", args=[2024])


def test_unknown_edition_is_404(client, edition):
    assert _get(client, reporter(), reverse("report:page", args=[1999])).status_code == 404


# ---- the page ------------------------------------------------------------------------


def test_the_narrative_follows_the_active_language(client, edition, figures):
    user = reporter()
    chinese = _get(client, user, reverse("report:page", args=[2024])).content.decode()
    assert "全国从事核医学相关工作的科室（室）共" in chinese
    assert _shows(chinese, "dept_total", "2")
    # 4 positron units against 427 in 2019: a decrease, worded as one.
    assert "较2019年的427台减少" in chinese
    english = _get(client, user, reverse("report:page", args=[2024]), language="en").content.decode()
    assert "There are <span class=\"figure" in english
    assert "a decrease of" in english and "(down from 427 units in 2019)" in english
    assert "Survey data" in english


def test_breakdown_tables_and_charts_are_shown(client, edition, figures):
    page = _get(client, society_admin(), reverse("report:page", args=[2024]) + "?chart=staff_total",
                language="en").content.decode()
    assert 'data-breakdown="province"' in page and 'data-breakdown="ownership"' in page
    assert 'data-breakdown="hospital_level"' in page
    assert "Shanghai" in page and "<svg" in page
    assert '<option value="staff_total" selected>' in page


@pytest.mark.sqlite
def test_a_recomputed_figure_is_flagged_where_it_differs_from_the_printed_one():
    growth = FigureShown(key="tx_growth", label="", fmt="pct1", section="", value=Decimal("8.63210779"),
                         published=Decimal("8.0"))
    assert growth.differs and growth.text == "8.6" and growth.published_text == "8.0"
    assert "figure-differs" in str(growth)
    same = FigureShown(key="positron_units_growth", label="", fmt="pct1", section="",
                       value=Decimal("80.79625293"), published=Decimal("80.8"))
    assert not same.differs and "figure-differs" not in str(same)
    assert figure_text(Decimal("1237"), "int") == "1,237"
    assert figure_text(Decimal("-54.43393086"), "pct2") == "-54.43"
    assert figure_text(None, "pct1") == "—"


def test_flagged_figures_are_listed_on_the_page(client, edition, figures):
    page = _get(client, reporter(), reverse("report:page", args=[2024]), language="en").content.decode()
    assert "Figures that differ from the published report" in page
    assert "recomputed 2, printed 1,237" in page


def test_report_context_reads_a_fixed_number_of_queries(edition, figures, django_assert_num_queries):
    edition = type(edition).objects.select_related("previous").get(pk=edition.pk)
    # publications, figure values, indicators, published figures, provinces, choices,
    # previous-edition check, previous figures
    with django_assert_num_queries(8):
        context = report_context(edition=edition)
    assert context.source == "live" and context.has_figures
    for number in range(4):
        survey_return(edition=edition, institution=InstitutionFactory(code=f"Q{number}"),
                      status=ReturnStatus.APPROVED, values=complete_values(edition))
    edition_figures_compute(edition_id=edition.pk)
    edition_publish(edition=edition, actor=society_admin(), note="")
    # + the published values of every revision, instead of the live figures
    with django_assert_num_queries(8):
        context = report_context(edition=edition)
    assert context.source == "publication"
    assert context.figures["dept_total"].value == 6


# ---- downloads and the PDF -----------------------------------------------------------


def test_downloads_carry_every_figure_and_breakdown(client, edition, figures):
    user = reporter()
    raw = _get(client, user, reverse("report:download", args=[2024, "csv"])).content
    assert raw.startswith("\ufeff".encode()) and b"\r\n" in raw  # Excel reads the Chinese names
    csv_text = raw.decode("utf-8-sig")
    assert ",上海市,Shanghai," in csv_text  # the group's names beside its code
    lines = [",".join(line.split(",")[:5]) for line in csv_text.splitlines()]  # the contract columns
    assert lines[0] == "edition,group_by,group,key,value"
    assert "2024,national,national,dept_total,2" in lines
    assert "2024,province,31,dept_total,1" in lines
    assert "2024,ownership,nonpublic,dept_total,1" in lines
    assert "2024,national,national,pet_exam_tumor_pct," in lines  # zero denominator: empty
    data = json.loads(_get(client, user, reverse("report:download", args=[2024, "json"]) + "?by=national").content)
    contract = ["edition", "group_by", "group", "key", "value"]
    assert {"edition": 2024, "group_by": "national", "group": "national", "key": "dept_total", "value": 2} in [
        {k: row[k] for k in contract} for row in data]
    assert all(row["group_by"] == "national" for row in data)
    xlsx = _get(client, user, reverse("report:download", args=[2024, "xlsx"]))
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    rows = {(r[1], r[2], r[3]): r[4] for r in sheet.iter_rows(min_row=3, values_only=True)}
    assert rows[("national", "national", "dept_total")] == 2
    growth = rows[("national", "national", "positron_units_growth")]
    assert isinstance(growth, float) and growth < 0  # a negative number stays a number


def test_downloaded_text_cells_are_neutralised(client, edition, figures):
    FigureValue.objects.create(edition=edition, breakdown="province", group="=HYPERLINK(\"x\")",
                               key="@evil", value=Decimal("-3"), computed_at=FigureValue.objects.first().computed_at)
    user = reporter()
    csv_text = _get(client, user, reverse("report:download", args=[2024, "csv"])).content.decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text and ",'@evil,-3," in csv_text
    xlsx = _get(client, user, reverse("report:download", args=[2024, "xlsx"]))
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    evil = [r for r in sheet.iter_rows(min_row=3, values_only=True) if r[3] == "'@evil"]
    assert evil and evil[0][2].startswith("'=") and evil[0][4] == -3


def test_unknown_download_type_or_breakdown_is_404(client, edition, figures):
    user = reporter()
    assert _get(client, user, reverse("report:download", args=[2024, "exe"])).status_code == 404
    assert _get(client, user, reverse("report:download", args=[2024, "csv"]) + "?by=city").status_code == 404


@pytest.mark.slow
def test_the_pdf_is_a_pdf_with_chinese_fonts(client, edition, figures):
    response = _get(client, reporter(), reverse("report:pdf", args=[2024]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert any(b"CJK" in font for font in _pdf_font_names(response.content))  # so Chinese renders


def _pdf_font_names(pdf: bytes) -> set[bytes]:
    """BaseFont names of a PDF, including those inside compressed object streams."""
    chunks = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            chunks.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return {name for chunk in chunks for name in re.findall(rb"/BaseFont\s*/([A-Za-z0-9+_-]+)", chunk)}


# ---- publishing ----------------------------------------------------------------------


def test_only_admins_may_publish(client, edition, figures):
    url = reverse("report:publish", args=[2024])
    for user in (reporter(), liaison()):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.post(url, {"note": "x"}).status_code == 403
    assert not Publication.objects.exists()
    with pytest.raises(PublicationRefused):
        edition_publish(edition=edition, actor=reporter(), note="")


def test_publishing_freezes_figures_and_corrections_show_errata(client, edition, figures):
    admin = society_admin()
    client.force_login(admin)
    response = client.post(reverse("report:publish", args=[2024]), {"note": "First release"})
    assert response.status_code == 302
    first = Publication.objects.get(edition=edition, revision=1)
    assert first.published_by == admin
    assert sorted(first.return_versions) == sorted([[r.pk, r.version] for r in figures])
    assert PublishedValue.objects.filter(publication=first, breakdown="national", key="dept_total").get().value == 2
    edition.refresh_from_db()
    assert edition.status == EditionStatus.PUBLISHED
    assert AuditEvent.objects.filter(edition=edition, kind=AuditEvent.Kind.EDITION, actor=admin).exists()

    # A return is withdrawn: the live figures change, the published revision does not.
    figures[1].status = ReturnStatus.SENT_BACK
    figures[1].save()
    edition_figures_compute(edition_id=edition.pk)
    assert PublishedValue.objects.filter(publication=first, breakdown="national", key="dept_total").get().value == 2
    page = client.get(reverse("report:page", args=[2024]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert _shows(page, "dept_total", "2")  # the published revision is what readers see

    # A correction needs a note, then becomes revision 2 with its errata.
    response = client.post(reverse("report:publish", args=[2024]), {"note": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and "needs a note" in response.content.decode()
    client.post(reverse("report:publish", args=[2024]), {"note": "R2 withdrawn"})
    second = Publication.objects.get(edition=edition, revision=2)
    assert second.return_versions == [[figures[0].pk, figures[0].version]]
    page = client.get(reverse("report:page", args=[2024]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Revision 2" in page and "R2 withdrawn" in page
    assert _shows(page, "dept_total", "1")
    context = report_context(edition=edition)
    changes = {(c["group_by"], c["key"]): (c["old"], c["new"]) for c in context.errata[1].changes}
    assert changes[("national", "dept_total")] == ("2", "1")
    # Revision 1 is still there to read.
    old = client.get(reverse("report:page", args=[2024]) + "?revision=1", HTTP_ACCEPT_LANGUAGE="en")
    assert _shows(old.content.decode(), "dept_total", "2")


@pytest.fixture
def published_then_changed(edition, figures):
    """Revision 1 with both returns (2 departments, 1 in Shanghai, 4 positron units); then
    Shanghai's return is sent back: the live figures say 1, none and 3."""
    edition_publish(edition=edition, actor=society_admin(), note="First release")
    figures[1].status = ReturnStatus.SENT_BACK
    figures[1].save()
    edition_figures_compute(edition_id=edition.pk)
    return edition


def _csv_value(response, group_by: str, group: str, key: str, year: int = 2024) -> str:
    for line in response.content.decode("utf-8-sig").splitlines():
        cells = line.split(",")
        if cells[:4] == [str(year), group_by, group, key]:
            return cells[4]
    return "absent"


def _reads(client, url: str) -> dict:
    """What a reader gets at the report's addresses with `url`'s query (?live=1...). The PDF
    is the page's context printed (reporting/views/report.py, _context)."""
    page = client.get(reverse("report:page", args=[2024]) + url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    province = client.get(reverse("report:province", args=[2024, "31"]) + url).content.decode()
    csv_url = reverse("report:download", args=[2024, "csv"])
    by_province = client.get(csv_url + (url + "&" if url else "?") + "by=province")
    trends = client.get(csv_url + (url + "&" if url else "?") + "by=trends")
    return {
        "page": "2" if _shows(page, "dept_total", "2") else "1" if _shows(page, "dept_total", "1") else "?",
        "province": "published" if _shows(province, "dept_total", "1") else "live",  # Shanghai's own value
        "download": _csv_value(by_province, "province", "31", "dept_total"),
        "trend": _csv_value(trends, "national", "national", "positron_units"),
        "live link": "Show live figures" in page,
        "download links": "live" if "figures.csv?live=1" in page else "revision" if "figures.csv?revision=1" in page
        else "?",
    }


PUBLISHED = {"page": "2", "province": "published", "download": "1", "trend": "4", "download links": "revision"}
LIVE = {"page": "1", "province": "live", "download": "absent", "trend": "3", "download links": "live"}


@pytest.mark.parametrize("query", ["", "?live=1"])
def test_a_reporter_reads_only_the_published_figures_once_there_are_some(client, published_then_changed, query):
    client.force_login(reporter())
    assert _reads(client, query) == {**PUBLISHED, "live link": False}


@pytest.mark.parametrize("make_user", [liaison, society_admin])
def test_reviewers_may_switch_to_the_live_figures(client, published_then_changed, make_user):
    client.force_login(make_user())
    assert _reads(client, "") == {**PUBLISHED, "live link": True}
    assert _reads(client, "?live=1") == {**LIVE, "live link": False}  # "Show the published figures" instead


def test_publishing_without_approved_returns_is_refused(edition):
    with pytest.raises(PublicationRefused, match="no approved returns"):
        edition_publish(edition=edition, actor=society_admin(), note="")
    assert not Publication.objects.exists()
