"""Error pages (400, 403, 404, 500, refused forms), messages and logging out, from the outside.

Each page is the site's own (navigation bar, the reader's language, a link home), never
Django's bare "403 Forbidden" or debug page.
"""

import pytest
from django.contrib import messages
from django.core import mail
from django.core.exceptions import BadRequest, PermissionDenied
from django.test import Client, RequestFactory
from django.urls import path, reverse
from django.utils import translation
from django.views.defaults import server_error

from surveysite.urls import urlpatterns as site_urlpatterns
from tests import factories


def _boom(request):
    raise RuntimeError("a bug")


def _refused(request):
    raise PermissionDenied


def _bad(request):
    raise BadRequest("technical detail for the log")


def _say(request, level):
    messages.add_message(request, int(level), f"message at level {level}")
    from django.shortcuts import redirect

    return redirect("login")


urlpatterns = [
    path("test-boom/", _boom),
    path("test-refused/", _refused),
    path("test-bad/", _bad),
    path("test-say/<int:level>/", _say),
    *site_urlpatterns,
]
this_urlconf = pytest.mark.urls(__name__)

BRAND_ZH = "全国核医学现状普查"


def _page(response) -> str:
    return response.content.decode()


def _assert_site_page(page: str, status: int, home: bool = True) -> None:
    assert f'data-status="{status}"' in page
    assert "navbar" in page and "bootstrap.min.css" in page  # the site's layout
    assert "Traceback" not in page and "Django" not in page
    if home:
        assert f'href="{reverse("home")}" data-testid="error-home"' in page


# ---- 404 --------------------------------------------------------------------------------


def test_unknown_address_is_the_sites_404_in_chinese_and_english(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = _page(response)
    _assert_site_page(page, 404)
    assert "页面不存在" in page and BRAND_ZH in page and 'lang="zh-hans"' in page
    page = _page(client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Page not found" in page and "Go to the home page" in page and 'lang="en"' in page


def test_another_institutions_return_is_the_same_404(client, edition):
    other = factories.survey_return(edition=edition)
    client.force_login(factories.reporter())
    response = client.get(reverse("entry:return", args=[other.pk]))
    assert response.status_code == 404
    page = _page(response)
    _assert_site_page(page, 404)
    assert other.institution.name not in page  # says nothing about what is there


# ---- 403 --------------------------------------------------------------------------------


def test_a_user_without_a_role_gets_the_sites_403_with_the_reason(client, edition):
    client.force_login(factories.UserFactory())
    response = client.get(reverse("report:page", args=[2024]))
    assert response.status_code == 403
    page = _page(response)
    _assert_site_page(page, 403)
    assert "您的账号尚未分配普查角色。" in page  # the reason the view gave, translated
    assert "403 Forbidden" not in page
    page = _page(client.get(reverse("report:page", args=[2024]), HTTP_ACCEPT_LANGUAGE="en"))
    assert "Your account has no survey role yet." in page and "You may not open this page" in page


@this_urlconf
def test_a_403_without_a_reason_says_so_generally(client, db):
    client.force_login(factories.UserFactory())
    response = client.get("/test-refused/")
    assert response.status_code == 403
    page = _page(response)
    _assert_site_page(page, 403)
    assert "您的账号无权访问此页面。" in page


# ---- 405 --------------------------------------------------------------------------------


def test_opening_a_forms_target_is_the_sites_405_with_the_allow_header(client, edition):
    """A typed or bookmarked address of a POST-only view (require_POST): Django's 405 had an
    empty body."""
    client.force_login(factories.liaison("11"))
    response = client.get(reverse("entry:reminders"))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    page = _page(response)
    _assert_site_page(page, 405)
    assert "此网址不能直接打开" in page and "错误代码 405" in page and 'lang="zh-hans"' in page
    page = _page(client.get(reverse("entry:reminders"), HTTP_ACCEPT_LANGUAGE="en"))
    assert "This address cannot be opened directly" in page and "nothing was changed" in page
    assert not mail.outbox  # and nothing was sent


def test_a_405_of_the_api_stays_the_apis(client, db):
    response = client.delete("/api/v1/editions")
    assert response.status_code == 405
    assert "navbar" not in _page(response)


# ---- refused forms (CSRF) -----------------------------------------------------------------


def test_a_form_without_its_security_token_gets_the_sites_page(db):
    client = Client(enforce_csrf_checks=True)
    user = factories.reporter()
    response = client.post(reverse("login"), {"username": user.username, "password": factories.PASSWORD})
    assert response.status_code == 403
    page = _page(response)
    _assert_site_page(page, 403)
    assert "表单未能提交" in page and "CSRF" in page  # the code, for whoever is asked to help
    assert "_auth_user_id" not in client.session
    page = _page(client.post(reverse("login"), {}, HTTP_ACCEPT_LANGUAGE="en"))
    assert "The form could not be sent" in page and "Nothing was saved" in page


# ---- 400 and 500 --------------------------------------------------------------------------


@this_urlconf
def test_bad_request_is_the_sites_400_without_the_technical_detail(client, db):
    response = client.get("/test-bad/")
    assert response.status_code == 400
    page = _page(response)
    _assert_site_page(page, 400)
    assert "无法识别此请求" in page and "technical detail" not in page


@this_urlconf
def test_a_crash_is_the_sites_500_in_the_readers_language(db):
    client = Client(raise_request_exception=False)
    response = client.get("/test-boom/")
    assert response.status_code == 500
    page = _page(response)
    _assert_site_page(page, 500)
    assert "出错了" in page and "a bug" not in page and 'lang="zh-hans"' in page
    page = _page(client.get("/test-boom/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Something went wrong" in page and 'lang="en"' in page


def test_the_500_page_renders_without_a_database_or_request_context():
    """No `db` fixture: any query would raise. Django renders 500.html with an empty context."""
    request = RequestFactory().get("/anything/")
    with translation.override("zh-hans"):
        response = server_error(request)
    assert response.status_code == 500
    page = _page(response)
    _assert_site_page(page, 500)
    assert "出错了" in page and BRAND_ZH in page


# ---- messages and logging out ---------------------------------------------------------------


@this_urlconf
@pytest.mark.parametrize(("level", "css", "role"), [
    (messages.ERROR, "alert-danger error", "alert"),
    (messages.WARNING, "alert-warning", "alert"),
    (messages.SUCCESS, "alert-success", "status"),
    (messages.INFO, "alert-info", "status"),
])
def test_messages_are_styled_by_level_and_announced(client, db, level, css, role):
    page = _page(client.get(f"/test-say/{level}/", follow=True))
    assert f'class="alert {css} alert-dismissible" role="{role}"' in page
    assert f"message at level {level}" in page
    assert "alert-error" not in page


def test_admin_error_messages_keep_the_admins_error_style():
    """Django's admin styles li.error; Bootstrap's alert is alert-danger: an error has both."""
    from django.contrib.messages.storage.base import Message

    assert Message(messages.ERROR, "x").tags.split() == ["danger", "error"]
    assert Message(messages.SUCCESS, "x").tags == "success"


def test_logging_out_says_so_on_the_login_page(client, edition):
    user = factories.reporter()
    client.force_login(user)
    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    page = _page(response)
    assert "您已退出登录。" in page and 'role="status"' in page
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("home")).status_code == 302  # really logged out
    client.force_login(user)
    page = _page(client.post(reverse("logout"), follow=True, HTTP_ACCEPT_LANGUAGE="en"))
    assert "You have been logged out." in page


def test_opening_the_logout_address_asks_first(client, edition):
    """A typed or bookmarked /accounts/logout/ is a page with a button, not a bare 405."""
    user = factories.reporter()
    client.force_login(user)
    response = client.get(reverse("logout"))
    assert response.status_code == 200
    assert 'data-testid="logout-confirm"' in _page(response)
    assert client.session.get("_auth_user_id") == str(user.pk)  # a GET changes nothing
    client.logout()
    response = client.get(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert "您已退出登录。" not in _page(client.get(reverse("login")))  # no message without a logout
