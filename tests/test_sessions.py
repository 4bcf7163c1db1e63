"""Sessions on shared hospital computers: gone with the browser, after a working day, and when idle."""

import time

from django.conf import settings

from surveysite.sessions import LAST_SEEN, LAST_SEEN_RESOLUTION, STARTED
from tests import factories

HOME = "/"


def _log_in(client):
    user = factories.reporter()
    client.force_login(user)
    assert client.get(HOME).status_code == 200  # the middleware stamps the session
    return user


def _shift(client, **seconds_ago):
    """Move the session's times into the past, as if that much time had gone by."""
    session = client.session
    now = int(time.time())
    for key, ago in seconds_ago.items():
        session[key] = now - ago
    session.save()


def test_lifetime_settings_suit_shared_computers():
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert 9 * 3600 <= settings.SESSION_COOKIE_AGE <= 10 * 3600
    assert 30 * 60 <= settings.SESSION_IDLE_TIMEOUT <= 60 * 60


def test_the_session_cookie_goes_when_the_browser_closes(client, db):
    user = factories.reporter()
    response = client.post("/accounts/login/", {"username": user.username, "password": factories.PASSWORD})
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == "" and cookie["expires"] == ""
    assert cookie["httponly"]


def test_a_session_left_idle_is_logged_out_with_a_message(client, db):
    _log_in(client)
    _shift(client, **{LAST_SEEN: settings.SESSION_IDLE_TIMEOUT + 5})

    response = client.get(HOME)

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    page = client.get(response["Location"]).content.decode()
    assert f"您已 {settings.SESSION_IDLE_TIMEOUT // 60} 分钟没有操作" in page


def test_a_session_in_use_stays_and_its_last_request_is_kept(client, db):
    _log_in(client)
    ago = settings.SESSION_IDLE_TIMEOUT - 60
    _shift(client, **{LAST_SEEN: ago})

    assert client.get(HOME).status_code == 200
    assert time.time() - client.session[LAST_SEEN] < 5


def test_most_requests_do_not_write_the_session(client, db):
    _log_in(client)
    _shift(client, **{LAST_SEEN: LAST_SEEN_RESOLUTION // 2})
    before = client.session[LAST_SEEN]

    response = client.get(HOME)

    assert response.status_code == 200
    assert settings.SESSION_COOKIE_NAME not in response.cookies  # nothing saved
    assert client.session[LAST_SEEN] == before


def test_a_session_ends_after_a_working_day_even_in_use(client, db):
    _log_in(client)
    _shift(client, **{STARTED: settings.SESSION_COOKIE_AGE + 5, LAST_SEEN: 120})

    response = client.get(HOME, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Your session has ended after a working day" in page


def test_typing_on_a_page_keeps_the_session_alive(client, db):
    """static/js/session-keepalive.js calls this while the person types on a long page."""
    _log_in(client)
    _shift(client, **{LAST_SEEN: settings.SESSION_IDLE_TIMEOUT - 60})

    response = client.get("/accounts/session/keepalive/")

    assert response.status_code == 204
    assert time.time() - client.session[LAST_SEEN] < 5
    assert client.get(HOME).status_code == 200


def test_the_keepalive_script_is_on_pages_of_logged_in_users_only(client, db):
    assert "session-keepalive.js" not in client.get("/accounts/login/").content.decode()
    _log_in(client)
    page = client.get(HOME).content.decode()
    assert 'data-keepalive-url="/accounts/session/keepalive/"' in page


def test_the_login_starts_the_clocks_so_the_next_page_writes_no_session(client, db):
    user = factories.reporter()
    before = int(time.time())
    response = client.post("/accounts/login/", {"username": user.username, "password": factories.PASSWORD})
    assert response.status_code == 302
    session = client.session
    assert before <= session[STARTED] == session[LAST_SEEN] <= int(time.time())

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(HOME).status_code == 200
    assert not [q["sql"] for q in queries if "django_session" in q["sql"] and not q["sql"].startswith("SELECT")]

