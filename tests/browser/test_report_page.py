"""The national report in Chromium, as its readers use it: sign in on the way to it, read the
Chinese narrative and breakdowns, pick the charted figure, download the figures and the PDF,
print, switch to English; and who is kept out."""

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest

from reporting.models import ReturnStatus
from reporting.services.aggregation import edition_figures_compute
from tests import factories
from tests.browser.test_entry_flow import log_in
from tests.factories import PASSWORD
from tests.reporting.entry_support import clean_values

# Four approved returns (clean_values: 1 PET/CT, 2 SPECT/CT, 3,000 PET and 5,000 single-photon
# examinations, therapy with 120 treatments, 5 physicians + 3 technicians + 2 nurses) ...
RETURNS = {
    # code: (province, status, overrides)
    "RPA": ("11", ReturnStatus.APPROVED, {}),
    "RPB": ("11", ReturnStatus.APPROVED, {
        "hospital_level": "secondary", "eq_pet_ct": 2, "eq_holder_nm": 4, "pet_exam_tumor": 1500,
        "eq_cyclotron": 1,
    }),
    "RPC": ("31", ReturnStatus.APPROVED, {
        "ownership": "nonpublic", "svc_pet": False, "eq_pet_ct": 0, "eq_holder_nm": 2,
        "pet_exam_tumor": 0, "sp_exam_skeletal": 800, "rp_positron": False, "rp_f18": False,
        "svc_rpt": False, "svc_rpt_outpatient": False, "rpt_performs": False, "rpt_beds": 0,
        "rpt_i131": False, "tx_i131_graves": 0,
        "staff_physician": 2, "staff_technician": 1, "staff_nurse": 0,
        "title_senior": 1, "title_intermediate": 1, "title_junior": 1,
        "edu_postgraduate": 1, "edu_undergraduate": 2,
    }),
    "RPD": ("44", ReturnStatus.APPROVED, {
        "hospital_level": "tertiary_other", "eq_pet_ct": 3, "eq_holder_nm": 5,
        "pet_exam_tumor": 4200,
    }),
    # ... and two that are not approved, so they must count nowhere (Zhejiang must not appear).
    "RPE": ("33", ReturnStatus.SUBMITTED, {"eq_pet_ct": 50, "staff_physician": 500}),
    "RPF": ("31", ReturnStatus.DRAFT, {"eq_pet_ct": 70}),
}

# The columns of the breakdown tables: departments, PET %, positron units, single-photon units,
# cyclotrons, PET exams, single-photon exams, departments doing therapy, treatments, staff.
PROVINCE_ROWS = {
    "北京市": ["2", "100.0", "3", "4", "1", "4,500", "10,000", "2", "240", "20"],
    "上海市": ["1", "0.0", "0", "2", "0", "0", "800", "0", "0", "3"],
    "广东省": ["1", "100.0", "3", "2", "0", "4,200", "5,000", "1", "120", "10"],
}
# Choice rows in the questionnaire's order, not by code.
OWNERSHIP_ROWS = {
    "公立": ["3", "100.0", "6", "6", "1", "8,700", "15,000", "3", "360", "30"],
    "非公立": ["1", "0.0", "0", "2", "0", "0", "800", "0", "0", "3"],
}
LEVEL_ROWS = {
    "三级甲等": ["2", "50.0", "1", "4", "0", "3,000", "5,800", "1", "120", "13"],
    "三级其他": ["1", "100.0", "3", "2", "0", "4,200", "5,000", "1", "120", "10"],
    "二级": ["1", "100.0", "2", "2", "1", "1,500", "5,000", "1", "120", "10"],
}
# Positron units: 6 against the 427 printed for 2019, i.e. 100*(6-427)/427 = -98.5948...%.
# Physicians: 17 of 33 staff = 51.5151...%. PET: 3 of 4 departments = 75.0%.


def _table(page, breakdown: str) -> dict[str, list[str]]:
    """A breakdown table as {row label: cells}, read from the rendered page."""
    rows = page.locator(f'table[data-breakdown="{breakdown}"] tbody tr')
    table = {}
    for n in range(rows.count()):
        row = rows.nth(n)
        table[row.locator("th").inner_text().strip()] = [
            cell.strip() for cell in row.locator("td").all_inner_texts()
        ]
    return table


def _download(page, link_name: str):
    with page.expect_download() as info:
        page.locator("nav.report-actions").get_by_role("link", name=link_name, exact=True).click()
    download = info.value
    assert download.failure() is None
    return download, Path(download.path()).read_bytes()


def _tables_fit_on_paper(page) -> None:
    """Printed on A4 (less the margins, about 680 CSS pixels wide), no column of a breakdown
    table is cut off: each table fits inside its (scrolling, on screen) wrapper."""
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 680, "height": 900})
    for breakdown in ("province", "ownership", "hospital_level"):
        table, wrapper = page.eval_on_selector(
            f'table[data-breakdown="{breakdown}"]',
            "t => [t.getBoundingClientRect().width, t.parentElement.clientWidth]",
        )
        assert table <= wrapper, f"{breakdown} table: {table:.0f}px wide on a {wrapper}px page"
    page.set_viewport_size({"width": 1366, "height": 900})


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_reader_reads_prints_and_downloads_the_national_report(live_server, browser, edition):
    base = clean_values(edition)
    for code, (province, status, overrides) in RETURNS.items():
        institution = factories.InstitutionFactory(code=code, province_id=province)
        factories.survey_return(edition=edition, institution=institution, status=status,
                                values={**base, **overrides})
    edition_figures_compute(edition_id=edition.pk)
    # A reporter of a Shanghai hospital: any survey role reads the whole national report.
    reader = factories.reporter(factories.InstitutionFactory(code="RPREADER", province_id="31"),
                                username="report_reader")
    url = f"{live_server.url}/report/2024/"

    # Signed out, the report sends the reader to log in, and back to the report afterwards.
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900},
                                  accept_downloads=True)
    page = context.new_page()
    page.goto(url)
    assert page.url == f"{live_server.url}/accounts/login/?next=/report/2024/"
    assert page.locator("input[name=password]").is_visible()
    assert "调查数据" not in page.content()
    page.fill("input[name=username]", reader.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form [type=submit]").click()
    page.wait_for_url(url)
    # The menu leads there too (through /report/ to the newest edition with a report).
    page.goto(live_server.url + "/")
    page.locator("nav.navbar").get_by_role("link", name="全国报告").click()
    page.wait_for_url(url)

    # ---- Chinese (the site's default language) -------------------------------------------
    assert page.inner_text("h1") == "2024年全国核医学现状普查 · 全国报告"
    narrative = page.locator("section.report-narrative")
    assert narrative.locator("h2").inner_text() == "调查数据"
    assert narrative.locator("h3").first.inner_text() == "学科基本情况"
    # The 2024 edition carries the society's printed figures; ours differ, so each is flagged †.
    dept_total = narrative.locator('[data-key="dept_total"]').first
    assert dept_total.inner_text() == "4†"
    assert dept_total.get_attribute("title") == "已发布报告中的数值：1,237"
    assert "重新计算为 4，报告刊载为 1,237" in page.inner_text(".report-differences")
    text = narrative.inner_text().replace("†", "")
    assert ("全国从事核医学相关工作的科室（室）共4个，其中公立医疗机构3家，非公立医疗机构1家；"
            "三级医院3家（其中三级甲等医院2家") in text
    assert "二级医院1家，其他0家" in text
    assert "3个（75.0%）开展PET显像" in text
    assert "全国共有正电子显像设备6台，较2019年的427台减少98.6%，其中PET或PET/CT 6台" in text
    assert "全国从事核医学相关工作的医务人员共33人" in text and "医师占51.5%" in text
    assert "治疗总例数为360例" in text
    assert "暂定" in page.inner_text(".report-source")  # live figures, not yet published

    breakdowns = page.locator("section.report-breakdowns")
    assert breakdowns.locator("h2").inner_text() == "分组统计"
    assert breakdowns.locator("h3").all_inner_texts() == ["按省份", "按机构性质", "按医院等级"]
    headers = page.locator('table[data-breakdown="province"] thead th').all_inner_texts()
    assert headers[:3] == ["省份", "参加普查的科室（家）", "开展PET显像（%）"] and len(headers) == 11
    for breakdown, expected in (("province", PROVINCE_ROWS), ("ownership", OWNERSHIP_ROWS),
                                ("hospital_level", LEVEL_ROWS)):
        table = _table(page, breakdown)
        assert table == expected
        assert list(table) == list(expected), f"{breakdown} rows out of order"

    # Bar charts drawn on the server: one per breakdown, of positron units by default.
    charts = page.locator("figure.report-chart")
    assert charts.count() == 3
    assert charts.locator("figcaption").all_inner_texts() == [
        "正电子显像设备（台） · 省份", "正电子显像设备（台） · 机构性质", "正电子显像设备（台） · 医院等级"]
    province_chart = charts.first.locator("svg")
    assert province_chart.is_visible()
    box = province_chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 50
    assert province_chart.locator("text.chart-label").all_text_contents() == list(PROVINCE_ROWS)
    assert province_chart.locator("text.chart-value").all_text_contents() == ["3", "0", "3"]
    # Beijing and Guangdong have the most units (full bar), Shanghai none.
    bars = province_chart.locator("rect.chart-bar")
    assert [bars.nth(n).get_attribute("width") for n in range(3)] == ["400", "0", "400"]

    # The reader charts another figure with the form above the report.
    page.select_option("#chart-key", "staff_total")
    page.locator("form.report-chart-form [type=submit]").click()
    page.wait_for_url("**chart=staff_total")
    charts = page.locator("figure.report-chart")
    assert charts.first.locator("figcaption").inner_text() == "人员合计 · 省份"
    assert charts.first.locator("text.chart-value").all_text_contents() == ["20", "3", "10"]
    assert page.locator("#chart-key").input_value() == "staff_total"

    # ---- Downloads ------------------------------------------------------------------------
    download, body = _download(page, "CSV")
    assert download.suggested_filename == "figures-2024-all.csv"
    assert "2024,national,national,dept_total,4" in [",".join(line.split(",")[:5])
                                                      for line in body.decode("utf-8-sig").splitlines()]
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    values = {(r["group_by"], r["group"], r["key"]): r["value"] for r in rows}
    assert list(rows[0])[:5] == ["edition", "group_by", "group", "key", "value"]  # the contract, first
    assert rows[0]["group_zh"] == "全国" and rows[0]["label_en"] == "Departments in the survey"
    assert values[("national", "national", "dept_total")] == "4"
    assert values[("national", "national", "svc_pet_pct")] == "75"
    assert values[("national", "national", "staff_physician_pct")] == "51.51515152"
    assert values[("province", "31", "dept_total")] == "1"
    assert values[("ownership", "public", "positron_units")] == "6"
    assert {r["group"] for r in rows if r["group_by"] == "province"} == {"11", "31", "44"}

    download, body = _download(page, "JSON")
    assert download.suggested_filename == "figures-2024-all.json"
    data = json.loads(body)
    national = {r["key"]: r["value"] for r in data if r["group_by"] == "national"}
    assert national["dept_total"] == 4 and national["positron_units"] == 6
    assert national["staff_physician_pct"] == pytest.approx(51.51515152)
    assert national["positron_units_growth"] == pytest.approx(-98.59484778)

    download, body = _download(page, "XLSX")
    assert download.suggested_filename == "figures-2024-all.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert [c.value for c in sheet[1]][:5] == ["edition", "group_by", "group", "key", "value"]
    cells = {(r[1], r[2], r[3]): r[4] for r in sheet.iter_rows(min_row=3, values_only=True)}
    assert cells[("national", "national", "dept_total")] == 4
    assert isinstance(cells[("national", "national", "dept_total")], int)
    growth = cells[("national", "national", "positron_units_growth")]
    assert isinstance(growth, float) and growth == pytest.approx(-98.59484778)
    assert cells[("hospital_level", "tertiary_a", "svc_pet_pct")] == 50

    download, body = _download(page, "PDF")
    assert download.suggested_filename == "national-report-2024.pdf"
    assert body.startswith(b"%PDF") and len(body) > 10_000

    # ---- Print: no navigation, buttons or chart form; the report itself stays --------------
    controls = ["nav.navbar", "nav.report-actions", "form.report-chart-form", "#language-form"]
    for selector in controls:
        assert page.locator(selector).is_visible(), selector
    page.emulate_media(media="print")
    for selector in controls:
        assert page.locator(selector).is_hidden(), selector
    for breakdown in ("province", "ownership", "hospital_level"):
        assert page.locator(f'table[data-breakdown="{breakdown}"]').is_visible()
    assert page.locator("figure.report-chart svg").first.is_visible()
    assert page.locator("section.report-narrative").is_visible()
    _tables_fit_on_paper(page)
    page.emulate_media(media="screen")

    # ---- English, through the site's language switch ----------------------------------------
    page.locator("#language-form").get_by_role("button", name="English").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")  # no eval under the CSP
    assert page.url.endswith("/report/2024/?chart=staff_total")  # same report, same chart
    text = page.inner_text("section.report-narrative").replace("†", "")
    assert page.inner_text("section.report-narrative h2") == "Survey data"
    assert ("There are 4 departments (offices) engaged in nuclear medicine-related work "
            "nationwide, including 3 public medical institutions and 1 nonpublic medical institutions") in text
    assert "There are 6 units nationwide, a decrease of 98.6% (down from 427 units in 2019)" in text
    assert page.locator("section.report-breakdowns h3").all_inner_texts() == [
        "By Province", "By Ownership", "By Hospital level"]
    assert _table(page, "province")["Shanghai"] == PROVINCE_ROWS["上海市"]
    assert _table(page, "ownership")["Non-public"] == OWNERSHIP_ROWS["非公立"]
    assert page.inner_text("h1") == "2024 National Survey of Nuclear Medicine · National report"
    _tables_fit_on_paper(page)  # English headers are longer
    context.close()

    # ---- A signed-in user without a survey role is refused ----------------------------------
    stranger = factories.UserFactory(username="no_role")
    page = log_in(browser, live_server, stranger)
    response = page.goto(url)
    assert response.status == 403
    assert "调查数据" not in page.content()
    response = page.goto(f"{live_server.url}/report/2024/figures.csv")
    assert response.status == 403
    page.context.close()
