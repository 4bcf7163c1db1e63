"""Pages speak the reader's language: no internal codes in the text of Chinese pages, no
Chinese left on English pages, and wording that says what an action does.

"Text" is what a reader sees: the page without its tags and attribute values (codes may stay
in tooltips, `data-` attributes and form field names).
"""

import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from reporting.models import AuditEvent, AuditSource, Indicator, Item, ReturnStatus
from reporting.services import returns as services
from reporting.services.aggregation import edition_figures_compute
from tests import factories
from tests.reporting import entry_support
from tests.reporting.entry_support import clean_values

open_edition, world = entry_support.open_edition, entry_support.world

# What the people in these tests typed (comments, a reason); not interface text.
USER_TYPED = ["请核对", "护士人数偏少", "洪水"]
CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]")


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts, self.hidden = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.hidden += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _client(user, language) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def _codes_in(text: str, codes) -> list[str]:
    return sorted(code for code in codes if re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text))


@pytest.fixture
def reviewed_world(world):
    """A return submitted, sent back with an item comment, changed, resubmitted; a system note,
    an import and an extension in its history."""
    edition, ret = world["edition"], world["return"]
    values = {**clean_values(edition), "ownership": "nonpublic"}
    services.return_values_save(survey_return=ret, values=values, actor=world["reporter"], expected_version=1)
    services.return_submit(survey_return=ret, actor=world["reporter"])
    ret.refresh_from_db()
    services.return_send_back(survey_return=ret, actor=world["liaison"], comment="请核对",
                              item_comments={"staff_nurse": "护士人数偏少"}, expected_version=ret.version)
    ret.refresh_from_db()
    services.return_values_save(survey_return=ret, values={"ownership": "public", "svc_pet": False,
                                                           "eq_pet_ct": 0, "eq_holder_nm": 2, "pet_exam_tumor": 0},
                                actor=world["reporter"], expected_version=ret.version, source=AuditSource.IMPORT)
    ret.refresh_from_db()
    services.return_submit(survey_return=ret, actor=world["reporter"],
                           explanations={})
    AuditEvent.objects.create(edition=edition, survey_return=ret, kind=AuditEvent.Kind.STATUS,
                              source=AuditSource.SYSTEM, old_value="", new_value=ReturnStatus.SUBMITTED,
                              return_version=1, comment="demo dataset (load_demo)")
    services.extension_grant(edition=edition, institution=world["beijing"], until=edition.closes_on,
                             actor=world["admin"], reason="洪水")
    ret.refresh_from_db()
    return world


def _item_codes(edition) -> list[str]:
    return list(Item.objects.filter(edition=edition).values_list("code", flat=True))


def test_history_in_chinese_reads_labels_statuses_sources_and_system_notes(reviewed_world):
    world = reviewed_world
    ret = world["return"]
    html = _client(world["reporter"], "zh-hans").get(reverse("entry:history", args=[ret.pk])).content.decode()
    text = visible_text(html)
    assert _codes_in(text, _item_codes(world["edition"])) == []
    assert "医疗机构性质" in text and "公立" in text and "非公立" in text  # a choice by its label
    assert "开展PET显像（PET、PET/CT、PET/MR）" in text and " 是 " in f" {text} " and " 否 " in f" {text} "
    assert "已提交" in text and "已退回" in text and "submitted" not in text
    assert "网页填报" in text and "导入" in text and "系统" in text
    assert "随示例数据集载入" in text and "load_demo" not in text
    assert "批准延期" in text and "洪水" in text and world["beijing"].code not in text  # not an "item"
    # Codes on request, for whoever needs them.
    html = _client(world["reporter"], "zh-hans").get(reverse("entry:history", args=[ret.pk]) + "?codes=1").content.decode()
    assert "ownership" in visible_text(html) and "隐藏题目代码" in html


def test_history_in_english(reviewed_world):
    world = reviewed_world
    ret = world["return"]
    html = _client(world["reporter"], "en").get(reverse("entry:history", args=[ret.pk])).content.decode()
    text = visible_text(html)
    assert "Ownership of the medical institution" in text and "Non-public" in text
    assert "Loaded with the demo dataset" in text and "Web form" in text and "Sent back" in text
    assert _codes_in(text, _item_codes(world["edition"])) == []


def test_review_in_chinese_names_items_not_codes_and_keeps_typed_comments(reviewed_world):
    world = reviewed_world
    ret = world["return"]
    liaison = _client(world["liaison"], "zh-hans")
    html = liaison.get(reverse("entry:review", args=[ret.pk])).content.decode()
    text = visible_text(html)
    assert _codes_in(text, _item_codes(world["edition"])) == []
    assert "人员：护士（人） : 护士人数偏少" in text  # item comments by label
    assert "非公立 → 公立" in text  # the change since it was sent back, by label
    assert "初审通过，提交学会" in text and "退回填报人修改" in text
    assert 'id="id_send_back-comment"' in html and 'form="review-form"' in html
    # A send-back without its general comment is refused and keeps what was typed per item.
    response = liaison.post(reverse("entry:review", args=[ret.pk]), {
        "action": "send_back", "version": ret.version, "send_back-comment": "",
        "item_comment__eq_spect_ct": "SPECT/CT 台数请核对"})
    assert response.status_code == 200
    assert 'value="SPECT/CT 台数请核对"' in response.content.decode()
    ret.refresh_from_db()
    assert ret.status == ReturnStatus.SUBMITTED


def test_the_decision_sits_beside_the_items_not_over_them(reviewed_world):
    """The send-back box was a sticky card at the bottom of the item table, covering about a
    quarter of a 900 px window; it is now in the side column (sticky from 992 px)."""
    world = reviewed_world
    html = _client(world["liaison"], "zh-hans").get(reverse("entry:review", args=[world["return"].pk])).content.decode()
    side = html[html.index('data-testid="review-side"'):]
    assert 'data-testid="send-back-box"' in side and 'data-testid="mark-reviewed"' in side
    table_part = html[:html.index('data-testid="review-side"')]
    assert "sticky-bottom d-lg-none" in table_part  # only a one-line link below 992 px
    assert "<textarea" not in table_part


def test_the_returns_list_opens_a_return_and_the_edition_is_open(world):
    html = _client(world["liaison"], "zh-hans").get(reverse("entry:returns")).content.decode()
    text = visible_text(html)
    assert "打开" in text and "开放" not in text.replace("开放中", "")
    home = visible_text(_client(world["liaison"], "zh-hans").get(reverse("home")).content.decode())
    assert "填报中（截止日期：" in home  # Edition.status_shown: open, and until when


def test_reviewed_and_approved_read_differently(world):
    """初审通过 (the province's review) is not 批准 (the society's approval)."""
    ret = world["return"]
    services.return_values_save(survey_return=ret, values=clean_values(world["edition"]),
                                actor=world["reporter"], expected_version=1)
    services.return_submit(survey_return=ret, actor=world["reporter"])
    ret.refresh_from_db()
    liaison = _client(world["liaison"], "zh-hans")
    page = liaison.post(reverse("entry:review", args=[ret.pk]), {"action": "review", "version": ret.version},
                        follow=True).content.decode()
    assert "已初审通过并提交学会，等待学会批准。" in page
    assert "初审通过" in visible_text(page) and "批准" not in visible_text(page).replace("等待学会批准", "")
    admin_page = visible_text(_client(world["admin"], "zh-hans").get(reverse("entry:review", args=[ret.pk])).content.decode())
    assert "批准" in admin_page


def test_the_report_page_shows_labels_not_indicator_keys(world, edition):
    for code, province in (("RL1", "11"), ("RL2", "31")):
        factories.survey_return(edition=edition, institution=factories.InstitutionFactory(code=code, province_id=province),
                                status=ReturnStatus.APPROVED, values=clean_values(edition))
    edition_figures_compute(edition_id=edition.pk)
    keys = list(Indicator.objects.filter(edition=edition).values_list("key", flat=True))
    html = _client(world["reporter"], "zh-hans").get(reverse("report:page", args=[2024])).content.decode()
    text = visible_text(html)
    assert _codes_in(text, keys) == []
    assert '<td title="dept_total">参加普查的科室（家）</td>' in html  # the key in a tooltip


# ---- English pages are as complete as the Chinese ones ---------------------------------------


def test_every_page_in_english_has_no_chinese_left(reviewed_world, edition):
    """Each page type a role sees, in English: any Chinese text is a missing translation (the
    institutions and people here have Latin names; the language switch says 中文)."""
    world = reviewed_world
    for institution in (world["beijing"], world["beijing_other"], world["shanghai"]):
        institution.name = institution.name_en
        institution.save()
    factories.survey_return(edition=edition, institution=factories.InstitutionFactory(code="RLE", name="Report Hospital"),
                            status=ReturnStatus.APPROVED, values=clean_values(edition))
    edition_figures_compute(edition_id=edition.pk)
    ret = world["return"]
    pages = {
        world["reporter"]: ["home", ("entry:returns",), ("entry:return", ret.pk), ("entry:history", ret.pk),
                            ("report:page", 2024)],
        world["reporter_other"]: [("entry:return", world["return_other"].pk),
                                  ("spreadsheets:return_upload", world["return_other"].pk)],
        world["liaison"]: [("entry:returns",), ("entry:review", ret.pk), ("entry:completeness",)],
        world["admin"]: ["home", ("entry:review", ret.pk), ("entry:edition", 2024), ("spreadsheets:index",),
                         ("spreadsheets:edition_import", 2024), ("report:publish", 2024), ("report:page", 2024)],
    }
    seen = {}
    for user, names in pages.items():
        client = _client(user, "en")
        for name in names:
            name, *args = (name,) if isinstance(name, str) else name
            url = reverse(name, args=args)
            response = client.get(url)
            assert response.status_code == 200, url
            text = visible_text(response.content.decode()).replace("中文", "")
            for typed in USER_TYPED:  # what people wrote stays in their words
                text = text.replace(typed, "")
            seen[url] = sorted(set(CJK.findall(text)))
    assert {url: chars for url, chars in seen.items() if chars} == {}
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="en")
    for url in (reverse("login"), "/no-such-page/"):
        assert CJK.findall(visible_text(anonymous.get(url).content.decode()).replace("中文", "")) == [], url
