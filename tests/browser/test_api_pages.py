"""The API's pages in Chromium: the tokens page by keyboard and at 375 px, the Swagger UI served
from the app's own files; neither trips the Content Security Policy."""

import pytest

from api.models import ApiToken
from tests import factories
from tests.browser.test_content_security_policy import visitor  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser


def test_tokens_page_by_keyboard_shows_the_token_once(visitor, edition):  # noqa: F811
    user = factories.reporter()
    person = visitor(user)
    person.visit("/account/tokens/")
    page = person.page
    page.focus("input[name=name]")
    page.keyboard.type("医院信息系统")
    page.keyboard.press("Tab")  # to the access choice
    page.keyboard.press("ArrowDown")  # read and write
    page.locator("select[name=expires_in_days]").focus()
    page.keyboard.press("ArrowUp")  # 90 days -> 30 days
    page.locator("button[type=submit]", has_text="创建令牌").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    person.assert_clean("after creating a token")
    secret = page.locator("#token-secret").input_value()
    token = ApiToken.objects.get(user=user)
    assert secret.startswith(token.prefix) and token.scope == "write" and token.name == "医院信息系统"
    assert 29 <= (token.expires_at - token.created_at).days <= 30
    page.reload()
    assert page.locator("#token-secret").count() == 0  # shown once
    assert ApiToken.objects.filter(user=user).count() == 1  # and reloading created no other
    page.locator("button", has_text="吊销").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_tokens_page_fits_a_phone(visitor, edition):  # noqa: F811
    user = factories.reporter()
    person = visitor(user)
    person.page.set_viewport_size({"width": 375, "height": 800})
    person.visit("/account/tokens/")
    width = person.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375


def test_api_reference_renders_from_local_files_under_the_policy(visitor, db):  # noqa: F811
    person = visitor()
    requested = []
    person.page.on("request", lambda request: requested.append(request.url))
    person.visit("/api/v1/docs/")
    person.page.wait_for_selector(".opblock", timeout=15000)  # the operations are listed
    assert person.page.locator(".opblock").count() >= 15
    assert all(url.startswith(person.live_server.url) for url in requested), requested
    person.assert_clean("/api/v1/docs/")
