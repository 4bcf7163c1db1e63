"""Failed logins are throttled per account (django-axes), never per address alone: from the outside."""

import io
from datetime import timedelta

import pytest
from axes.backends import AxesStandaloneBackend
from axes.models import AccessAttempt
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db.models import F
from django.utils.module_loading import import_string

from institutions.services import account_unlock
from reporting.models import AuditEvent, AuditSource
from tests import factories
from tests.admin_support import audit_export_rows, audited

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
HOSPITAL = "10.20.30.40"  # one NAT address for a whole hospital's staff
LOCKED_ZH = "该账号登录失败次数过多"
LOCKED_EN = "Too many failed logins for this account"


def _attempt(client, username, password, *, url=LOGIN, address=HOSPITAL, **headers):
    data = {"username": username, "password": password}
    if url == ADMIN_LOGIN:
        data["next"] = "/admin/"
    return client.post(url, data, REMOTE_ADDR=address, **headers)


def _lock(client, user, *, url=LOGIN, address=HOSPITAL):
    """Wrong passwords up to the limit: the last of them already gets the lockout page."""
    for n in range(settings.AXES_FAILURE_LIMIT):
        response = _attempt(client, user.username, f"wrong-{n}", url=url, address=address)
        if n < settings.AXES_FAILURE_LIMIT - 1:
            assert response.status_code == 200, n
    assert response.status_code == 429
    return response


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_axes_guards_every_login_and_never_by_address_alone():
    # (tests/test_settings.py checks the production settings' backends.)
    assert issubclass(import_string(settings.AUTHENTICATION_BACKENDS[0]), AxesStandaloneBackend)
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
    assert "ip_address" not in settings.AXES_LOCKOUT_PARAMETERS
    assert "username" in settings.AXES_LOCKOUT_PARAMETERS
    assert settings.AXES_COOLOFF_TIME


@pytest.mark.parametrize(("headers", "message", "lang"), [
    ({}, LOCKED_ZH, "zh-hans"),
    ({"HTTP_ACCEPT_LANGUAGE": "en"}, LOCKED_EN, "en"),
])
def test_the_right_password_after_too_many_wrong_ones_is_refused_with_a_message(client, db, headers, message, lang):
    user = factories.reporter()
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _attempt(client, user.username, f"wrong-{n}", **headers).status_code == 200
    assert not _logged_in(client)

    _attempt(client, user.username, "wrong-again", **headers)
    response = _attempt(client, user.username, factories.PASSWORD, **headers)

    assert response.status_code == 429
    assert not _logged_in(client)
    page = response.content.decode()
    assert message in page
    assert f'lang="{lang}"' in page
    # The login page in the site's layout, the name kept, ready for a later try.
    assert 'class="navbar' in page and 'id="login-locked"' in page
    assert 'name="password"' in page and f'value="{user.username}"' in page


def test_a_colleague_at_the_same_address_still_logs_in(client, db):
    locked, colleague = factories.reporter(), factories.reporter()
    _lock(client, locked)

    response = _attempt(client, colleague.username, factories.PASSWORD)

    assert response.status_code == 302
    assert _logged_in(client)
    # The lock is the account's, wherever the next try comes from.
    client.logout()
    assert _attempt(client, locked.username, factories.PASSWORD, address="192.0.2.7").status_code == 429


def test_the_lock_ends_after_the_cool_off(client, db):
    user = factories.reporter()
    _lock(client, user)

    # A minute before the cool-off ends the account is still locked ...
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME + timedelta(minutes=1))
    assert _attempt(client, user.username, factories.PASSWORD).status_code == 429
    # ... and once it has passed, the right password logs in.
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=2))
    response = _attempt(client, user.username, factories.PASSWORD)

    assert response.status_code == 302
    assert _logged_in(client)


def test_an_admin_sees_the_lock_and_lifts_it_on_the_audit_trail(client, db):
    user = factories.reporter()
    _lock(client, user)
    admin = factories.UserFactory(username="root", is_staff=True, is_superuser=True)
    admin_client = client.__class__(HTTP_ACCEPT_LANGUAGE="en")
    admin_client.force_login(admin)

    listing = admin_client.get("/admin/axes/accessattempt/?locked_out=yes")
    assert listing.status_code == 200
    assert user.username in listing.content.decode() and "Locked Out" in listing.content.decode()
    attempts = list(AccessAttempt.objects.filter(username=user.username).values_list("pk", flat=True))
    # The records are read-only: deleting them by hand would leave no trace.
    assert admin_client.post(f"/admin/axes/accessattempt/{attempts[0]}/delete/", {"post": "yes"}).status_code == 403
    response = admin_client.post("/admin/axes/accessattempt/", {"action": "unlock", "_selected_action": attempts})
    assert response.status_code == 302
    assert "1 account unlocked." in admin_client.get(response["Location"]).content.decode()

    assert _attempt(client, user.username, factories.PASSWORD).status_code == 302
    assert _logged_in(client)
    rows = audit_export_rows(admin_client)
    assert audited(rows, kind="account", source="admin", actor="root", subject_id=user.pk,
                   item_code="failed_logins", old_value=settings.AXES_FAILURE_LIMIT, new_value=0)


def test_only_account_administrators_unlock(client, db):
    user = factories.reporter()
    _lock(client, user)
    with pytest.raises(PermissionDenied):
        account_unlock(username=user.username, actor=factories.reporter(), source=AuditSource.ADMIN)
    assert AccessAttempt.objects.filter(username=user.username).exists()


def _command(*args) -> str:
    output = io.StringIO()
    call_command(*args, stdout=output)
    return output.getvalue()


def _unlock_events(username: str) -> list[tuple]:
    return list(AuditEvent.objects.filter(kind="account", item_code="failed_logins", subject_label=username)
                .values_list("source", "actor", "old_value", "new_value", "comment"))


def test_axes_reset_username_lifts_the_lock_on_the_audit_trail(client, db):
    user, bystander = factories.reporter(), factories.reporter()
    _lock(client, user)
    _attempt(client, bystander.username, "wrong")

    assert _command("axes_reset_username", user.username) == "1 attempts removed.\n"

    assert _attempt(client, user.username, factories.PASSWORD).status_code == 302
    assert _unlock_events(user.username) == [
        ("system", None, str(settings.AXES_FAILURE_LIMIT), "0", f"manage.py axes_reset_username {user.username}")]
    assert AccessAttempt.objects.filter(username=bystander.username).exists()  # only the one named
    assert _command("axes_reset_username", user.username) == "No attempts found.\n"
    assert len(_unlock_events(user.username)) == 1  # nothing lifted, nothing recorded


def test_every_axes_reset_command_is_audited(client, db):
    """axes' own commands deleted the records and left no trace; the site's replace them."""
    from django.core.management import get_commands

    commands = get_commands()
    for name in ("axes_reset", "axes_reset_ip", "axes_reset_username", "axes_reset_ip_username"):
        assert commands[name] == "surveysite", name
    first, second, third = factories.reporter(), factories.reporter(), factories.reporter()
    _lock(client, first)
    _lock(client, second, address="10.9.9.9")
    _attempt(client, third.username, "wrong", address="10.9.9.9")
    _attempt(client, "nobody-has-this-name", "guess", address="10.9.9.9")

    assert _command("axes_reset_ip_username", HOSPITAL, first.username) == "1 attempts removed.\n"
    assert _command("axes_reset_ip", "10.9.9.9") == "3 attempts removed.\n"
    _lock(client, first)
    assert _command("axes_reset") == "1 attempts removed.\n"

    assert not AccessAttempt.objects.exists()
    limit = str(settings.AXES_FAILURE_LIMIT)
    assert _unlock_events(first.username) == [
        ("system", None, limit, "0", f"manage.py axes_reset_ip_username {HOSPITAL} {first.username}"),
        ("system", None, limit, "0", "manage.py axes_reset"),
    ]
    assert _unlock_events(second.username) == [("system", None, limit, "0", "manage.py axes_reset_ip 10.9.9.9")]
    assert _unlock_events(third.username) == [("system", None, "1", "0", "manage.py axes_reset_ip 10.9.9.9")]
    assert _unlock_events("nobody-has-this-name") == [("system", None, "1", "0", "manage.py axes_reset_ip 10.9.9.9")]


def test_the_admin_login_is_throttled_too(client, db):
    staff = factories.society_admin()
    response = _lock(client, staff, url=ADMIN_LOGIN)
    assert LOCKED_ZH in response.content.decode()

    assert _attempt(client, staff.username, factories.PASSWORD, url=ADMIN_LOGIN).status_code == 429
    assert _attempt(client, staff.username, factories.PASSWORD).status_code == 429
    assert not _logged_in(client)


def test_the_address_comes_from_the_proxy_header_when_configured(client, db, settings):
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_REAL_IP", "REMOTE_ADDR")
    user = factories.reporter()

    _attempt(client, user.username, "wrong", address="127.0.0.1", HTTP_X_REAL_IP="203.0.113.9")

    assert AccessAttempt.objects.get(username=user.username).ip_address == "203.0.113.9"


def test_the_test_clients_login_skips_the_throttle_and_nothing_else(client, db):
    """tests/auth_support.py: login() without a request still checks the password."""
    user = factories.reporter()
    assert not client.login(username=user.username, password="wrong")
    assert client.login(username=user.username, password=factories.PASSWORD)
