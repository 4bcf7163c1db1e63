"""In Chromium: the map of the provinces on the report page (choosing its figure, printed),
and the peer-outlier list as a liaison with a follow-up round trip to the reporter."""

from pathlib import Path

import pytest

from reporting.models import ReturnStatus
from reporting.services.aggregation import edition_figures_compute
from tests import factories
from tests.browser.test_entry_flow import log_in
from tests.reporting.entry_support import clean_values

SCREENSHOTS = Path("/tmp") / "surveysite-map-screenshots"


@pytest.fixture
def returns(edition):
    """Beijing's tertiary-A peers: treatments per bed 10…16 and Beijing's own 100."""
    base = clean_values(edition) | {"rpt_beds": 1}
    made = []
    for number, treatments in enumerate([10, 11, 12, 13, 14, 15, 16, 100]):
        institution = factories.InstitutionFactory(code=f"BM{number}", province_id="11" if number == 7 else "44")
        made.append(factories.survey_return(
            edition=edition, institution=institution, status=ReturnStatus.SUBMITTED if number == 7 else ReturnStatus.APPROVED,
            values=base | {"tx_i131_graves": treatments, "tx_other": 0, "tx_i131_thyroid": 0,
                           "tx_seed_implant": 0, "tx_sr89_bone": 0}))
    edition_figures_compute(edition_id=edition.pk)
    return made


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_map_is_chosen_and_printed(live_server, browser, edition, returns):
    reader = factories.reporter(factories.InstitutionFactory(code="MAPREADER", province_id="31"), username="map_reader")
    page = log_in(browser, live_server, reader)
    page.goto(f"{live_server.url}/report/2024/")
    tile_map = page.locator("svg.tile-map")
    assert tile_map.locator("a.tile").count() == 31
    assert tile_map.get_attribute("data-key") == "positron_units_per_million"
    assert page.locator("#map-title").text_content() == "每百万人口PET设备（PET/CT及PET/MR）（台）"
    page.select_option("#map-key", "staff_total")
    page.locator("form.report-map-form [type=submit]").click()
    page.wait_for_url("**map=staff_total*")
    assert page.locator("svg.tile-map").get_attribute("data-key") == "staff_total"
    assert page.locator('a.tile[data-province="44"]').get_attribute("data-class") != "none"
    assert page.locator('a.tile[data-province="54"]').get_attribute("data-class") == "none"
    # A tile is a link to the province page, reachable from the keyboard.
    page.locator('a.tile[data-province="44"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/report/2024/province/44/")
    assert "广东省" in page.inner_text("h1")
    page.go_back()
    # Printed (as the PDF is), the map keeps its colours: a picture to look at.
    page.emulate_media(media="print")
    SCREENSHOTS.mkdir(exist_ok=True)
    shot = page.locator("section.report-map").screenshot(path=str(SCREENSHOTS / "map-print.png"))
    assert len(shot) > 5000
    page.context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_liaison_follows_up_an_outlier_and_the_reporter_sees_it(live_server, browser, edition, returns):
    reviewer = factories.liaison("11", username="outlier_liaison")
    page = log_in(browser, live_server, reviewer)
    page.goto(f"{live_server.url}/")
    page.locator("nav.navbar").get_by_role("link", name="同级医院离群值").click()
    page.wait_for_url("**/review/2024/outliers/")
    rows = page.locator("table.outlier-table tbody tr[data-return]")
    assert rows.count() == 1  # Beijing's one flagged value; Guangdong's peers are not listed
    row = rows.first
    assert row.get_attribute("data-key") == "tx_per_bed"
    row.locator("select[name=status]").select_option("follow_up")
    row.locator("input[name=note]").fill("每张床位100例，请核实。")
    row.locator("[type=submit]").click()
    page.wait_for_load_state()
    assert "标记已保存" in page.inner_text("body")
    page.context.close()

    reporter = factories.reporter(returns[7].institution, username="outlier_reporter")
    page = log_in(browser, live_server, reporter)
    page.goto(f"{live_server.url}/returns/{returns[7].pk}/")
    assert "每张核素治疗床位治疗例次: 每张床位100例，请核实。" in page.inner_text("body")
    page.context.close()


@pytest.mark.browser
@pytest.mark.slow
def test_the_pdf_has_the_map_page(client, edition, returns):
    """The PDF's map page rendered to PNG: the coloured tile of Guangdong is there."""
    import pypdfium2

    client.force_login(factories.reporter())
    response = client.get("/report/2024/report.pdf?map=staff_total", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    pdf = pypdfium2.PdfDocument(response.content)
    pages = [n for n in range(len(pdf)) if "Map of the provinces" in pdf[n].get_textpage().get_text_range()]
    assert pages, "no page of the PDF has the map"
    image = pdf[pages[0]].render(scale=1.5).to_pil()
    SCREENSHOTS.mkdir(exist_ok=True)
    image.save(SCREENSHOTS / "map-pdf.png")
    colours = {colour for _count, colour in image.convert("RGB").getcolors(maxcolors=1 << 20)}
    assert (0xfd, 0xe7, 0x25) in colours  # viridis' lightest class: Guangdong, the one value
    assert (0xe9, 0xec, 0xef) in colours  # the grey tiles without a value
