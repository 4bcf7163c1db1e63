"""Typing on a page keeps the session alive (static/js/session-keepalive.js); reading it idle does not."""

import time

import pytest

from surveysite.sessions import LAST_SEEN
from tests import factories
from tests.factories import PASSWORD

KEEPALIVE = "/accounts/session/keepalive/"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_typing_tells_the_server_the_person_is_there(live_server, browser, edition):  # edition: provinces
    from django.contrib.sessions.models import Session

    user = factories.reporter(username="keepalive_reporter")
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.clock.install()
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.locator("main form [type=submit]").click()
        page.wait_for_url(f"{live_server.url}/")
        calls = []
        page.on("request", lambda request: calls.append(request.url) if KEEPALIVE in request.url else None)

        # Six minutes of reading without touching anything: no call.
        page.clock.fast_forward("06:00")
        page.wait_for_timeout(300)
        assert calls == []

        # A key pressed after that: one call, which moves the session's last request forward.
        session = Session.objects.get()
        data = session.get_decoded()
        data[LAST_SEEN] = int(time.time()) - 20 * 60
        session.session_data = Session.objects.encode(data)
        session.save()
        with page.expect_response(lambda response: KEEPALIVE in response.url) as answer:
            page.keyboard.press("Tab")
        assert answer.value.status == 204
        assert time.time() - Session.objects.get().get_decoded()[LAST_SEEN] < 10

        # Another key straight away: no second call (at most one every five minutes).
        page.keyboard.press("Tab")
        page.wait_for_timeout(300)
        assert len(calls) == 1
    finally:
        context.close()
