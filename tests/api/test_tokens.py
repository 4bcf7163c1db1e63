"""Personal access tokens: stored as a hash, shown once, expiry, revocation, scope, rate limits."""

import datetime as dt
import hashlib
import io

import pytest
from django.contrib.admin.sites import site
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken
from api.services.tokens import TokenRefused, api_token_create, api_token_revoke
from reporting.models import AuditEvent, SurveyReturn
from tests.api.conftest import bearer, token_for
from tests.factories import UserFactory, liaison, reporter, society_admin, survey_return


def test_a_token_is_stored_only_as_a_hash_with_a_recognisable_prefix(db):
    user = reporter()
    token, secret = api_token_create(user=user, name="HIS", scope="read",
                                     expires_at=timezone.now() + dt.timedelta(days=10), actor=user)
    assert secret.startswith("svy_") and len(secret) == 44 and secret[4:].isalnum()
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {str(value) for value in ApiToken.objects.values().get(pk=token.pk).values()}
    assert stored.prefix == secret[:10]


def test_expiry_is_required_in_the_future_and_at_most_a_year(db):
    user = reporter()
    now = timezone.now()
    with pytest.raises(TokenRefused):
        api_token_create(user=user, name="x", scope="read", expires_at=now - dt.timedelta(seconds=1), actor=user)
    with pytest.raises(TokenRefused):
        api_token_create(user=user, name="x", scope="read", expires_at=now + dt.timedelta(days=366), actor=user)
    api_token_create(user=user, name="x", scope="read", expires_at=now + dt.timedelta(days=364), actor=user)


def test_only_people_with_a_survey_role_hold_tokens_and_only_their_own(db):
    nobody = UserFactory()
    with pytest.raises(TokenRefused):
        api_token_create(user=nobody, name="x", scope="read", expires_at=timezone.now() + dt.timedelta(days=1), actor=nobody)
    one, other = reporter(), reporter()
    with pytest.raises(TokenRefused):
        api_token_create(user=one, name="x", scope="read", expires_at=timezone.now() + dt.timedelta(days=1), actor=other)


def test_token_authenticates_and_records_when_it_was_last_used(client, db):
    user = reporter()
    secret = token_for(user)
    response = client.get("/api/v1/me", **bearer(secret))
    assert response.status_code == 200
    assert response.json()["username"] == user.username and response.json()["role"] == "reporter"
    assert response.json()["token"]["scope"] == "read"
    assert ApiToken.objects.get(user=user).last_used_at is not None


@pytest.mark.parametrize("header", [None, "Bearer svy_nope", "Bearer ", "Basic dXNlcjpwYXNz", "svy_abc"])
def test_missing_or_wrong_token_is_401(client, db, header):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.get("/api/v1/editions", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] == "not_authenticated"


def test_session_cookie_never_authenticates_the_api(db):
    client = Client()
    client.force_login(society_admin())
    assert client.get("/api/v1/editions").status_code == 401
    assert client.post("/api/v1/editions/2024/values", {"returns": []}, content_type="application/json").status_code == 401


def test_token_post_needs_no_csrf_token(edition, db):
    admin = society_admin()
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/editions/2024/values", {"dry_run": True, "returns": [
        {"institution": "nowhere", "values": {}}]}, content_type="application/json", **bearer(token_for(admin, "write")))
    assert response.status_code == 422  # judged on its content, not refused for CSRF


def test_expired_token_is_refused(client, db):
    user = reporter()
    secret = token_for(user)
    ApiToken.objects.filter(user=user).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get("/api/v1/me", **bearer(secret)).status_code == 401


def test_revoked_token_is_refused_at_once_and_revocation_is_audited(client, db):
    user = reporter()
    secret = token_for(user)
    assert client.get("/api/v1/me", **bearer(secret)).status_code == 200
    token = ApiToken.objects.get(user=user)
    api_token_revoke(token=token, actor=user)
    assert client.get("/api/v1/me", **bearer(secret)).status_code == 401
    events = AuditEvent.objects.filter(kind=AuditEvent.Kind.TOKEN, subject_id=str(token.pk))
    assert {(e.item_code, e.source, e.actor_id) for e in events} >= {
        ("name", "web", user.pk), ("scope", "web", user.pk), ("revoked_at", "web", user.pk)}
    assert secret not in str(list(events.values()))


def test_another_user_cannot_revoke_my_token(db):
    owner, other = reporter(), reporter()
    token_for(owner)
    with pytest.raises(TokenRefused):
        api_token_revoke(token=ApiToken.objects.get(user=owner), actor=other)
    api_token_revoke(token=ApiToken.objects.get(user=owner), actor=society_admin())


def test_token_of_a_deactivated_user_or_one_without_role_is_refused(client, db):
    user = reporter()
    secret = token_for(user)
    user.is_active = False
    user.save()
    assert client.get("/api/v1/me", **bearer(secret)).status_code == 401
    user.is_active = True
    user.save()
    user.membership.delete()
    assert client.get("/api/v1/me", **bearer(secret)).status_code == 401


def test_read_only_token_cannot_write(client, edition):
    user = reporter()
    ret = survey_return(edition=edition, institution=user.membership.institution)
    secret = token_for(user, "read")
    response = client.post("/api/v1/editions/2024/values", {"returns": [
        {"institution": user.membership.institution.code, "version": 1, "values": {"eq_pet_ct": 1}}]},
        content_type="application/json", **bearer(secret))
    assert response.status_code == 403 and response.json()["code"] == "read_only_token"
    response = client.post(f"/api/v1/returns/{ret.pk}/submit", {"version": 1}, content_type="application/json",
                           **bearer(secret))
    assert response.status_code == 403
    assert SurveyReturn.objects.get(pk=ret.pk).version == 1


@override_settings(API_RATE_LIMIT=3, API_RATE_WINDOW_SECONDS=60)
def test_rate_limit_per_token_answers_429_with_retry_after(client, db):
    user = reporter()
    first, second = token_for(user), token_for(user)
    for _request in range(3):
        assert client.get("/api/v1/me", **bearer(first)).status_code == 200
    response = client.get("/api/v1/me", **bearer(first))
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["code"] == "rate_limited"
    # The limit is per token: another token of the same person still works.
    assert client.get("/api/v1/me", **bearer(second)).status_code == 200


@override_settings(API_AUTH_FAILURE_LIMIT=3, API_AUTH_FAILURE_WINDOW_SECONDS=600)
def test_failed_authentication_is_throttled_per_address(client, db):
    good = token_for(reporter())
    for _attempt in range(3):
        assert client.get("/api/v1/me", **bearer("svy_guess")).status_code == 401
    response = client.get("/api/v1/me", **bearer("svy_guess"))
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    # From that address even a good token waits: guessing must not go on.
    assert client.get("/api/v1/me", **bearer(good)).status_code == 429
    # Another address is not affected.
    assert client.get("/api/v1/me", REMOTE_ADDR="10.0.0.9", **bearer(good)).status_code == 200
    # A forwarded-for header is the caller's to invent: it does not change the address.
    assert client.get("/api/v1/me", HTTP_X_FORWARDED_FOR="10.0.0.10", **bearer(good)).status_code == 429


@override_settings(API_AUTH_FAILURE_LIMIT=2, AXES_IPWARE_META_PRECEDENCE_ORDER=("HTTP_X_REAL_IP", "REMOTE_ADDR"))
def test_behind_a_proxy_failures_are_counted_per_client_not_per_proxy(client, db):
    good = token_for(reporter())
    for _attempt in range(2):
        client.get("/api/v1/me", HTTP_X_REAL_IP="203.0.113.7", **bearer("svy_guess"))
    assert client.get("/api/v1/me", HTTP_X_REAL_IP="203.0.113.7", **bearer(good)).status_code == 429
    # Another client behind the same proxy (same REMOTE_ADDR) is not locked out.
    assert client.get("/api/v1/me", HTTP_X_REAL_IP="203.0.113.8", **bearer(good)).status_code == 200


# --- the tokens page -------------------------------------------------------------------------------


def test_tokens_page_creates_a_token_shown_once_then_revokes_it(db):
    user = reporter()
    client = Client()
    client.force_login(user)
    page = client.get(reverse("api_tokens:list"))
    assert page.status_code == 200 and "svy_" not in page.content.decode()
    response = client.post(reverse("api_tokens:list"), {"name": "HIS", "scope": "write", "expires_in_days": "90"})
    assert response.status_code == 302  # post, redirect, get: a reload creates nothing
    response = client.get(response["Location"])
    html = response.content.decode()
    token = ApiToken.objects.get(user=user)
    secret = html.split('id="token-secret"')[1].split('value="')[1].split('"')[0]
    assert secret.startswith(token.prefix) and token.scope == "write"
    assert 89 <= (token.expires_at - timezone.now()).days <= 90
    assert "no-store" in response["Cache-Control"]
    # Shown once: the list does not show it again.
    assert secret not in client.get(reverse("api_tokens:list")).content.decode()
    assert Client().get("/api/v1/me", **bearer(secret)).status_code == 200
    response = client.post(reverse("api_tokens:revoke", args=[token.pk]))
    assert response.status_code == 302
    assert Client().get("/api/v1/me", **bearer(secret)).status_code == 401


def test_tokens_page_refuses_a_longer_expiry_and_keeps_the_typing(db):
    client = Client()
    client.force_login(reporter())
    response = client.post(reverse("api_tokens:list"), {"name": "HIS", "scope": "read", "expires_in_days": "3650"})
    assert response.status_code == 200
    assert not ApiToken.objects.exists()
    assert 'value="HIS"' in response.content.decode()


def test_tokens_page_cannot_revoke_anothers_token(db):
    owner, other = reporter(), reporter()
    token_for(owner)
    client = Client()
    client.force_login(other)
    assert client.post(reverse("api_tokens:revoke", args=[ApiToken.objects.get().pk])).status_code == 404
    assert ApiToken.objects.get().revoked_at is None
    assert client.get(reverse("api_tokens:list")).content.decode().count("svy_") == 0


def test_tokens_page_needs_a_login_and_a_role(db):
    assert Client().get(reverse("api_tokens:list")).status_code == 302
    client = Client()
    client.force_login(UserFactory())
    assert client.get(reverse("api_tokens:list")).status_code == 403


# --- admin and command line ------------------------------------------------------------------------


def test_society_admin_lists_every_token_and_revokes_through_the_service(db):
    admin = society_admin()
    secret = token_for(reporter())
    token_for(liaison())
    client = Client()
    client.force_login(admin)
    listing = client.get(reverse("admin:api_apitoken_changelist"))
    assert listing.status_code == 200
    assert all(token.prefix in listing.content.decode() for token in ApiToken.objects.all())
    target = ApiToken.objects.get(user__membership__role="reporter")
    response = client.post(reverse("admin:api_apitoken_changelist"), {
        "action": "revoke", "_selected_action": [str(target.pk)],
    })
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.revoked_at is not None and target.revoked_by == admin
    assert AuditEvent.objects.filter(kind="token", item_code="revoked_at", source="admin", actor=admin).exists()
    assert Client().get("/api/v1/me", **bearer(secret)).status_code == 401
    assert not site._registry[ApiToken].has_delete_permission(listing.wsgi_request)


def test_a_reporter_does_not_see_tokens_in_the_admin(db):
    client = Client()
    client.force_login(reporter(is_staff=True))
    assert client.get(reverse("admin:api_apitoken_changelist")).status_code == 403


def test_command_prints_the_token_once_and_it_works(client, db):
    user = liaison(username="nightly")
    out, err = io.StringIO(), io.StringIO()
    call_command("api_token_create", "nightly", "--scope", "write", "--expires-in-days", "30", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    assert secret.startswith("svy_") and secret not in err.getvalue()
    token = ApiToken.objects.get(user=user)
    assert token.scope == "write" and 29 <= (token.expires_at - timezone.now()).days <= 30
    assert client.get("/api/v1/me", **bearer(secret)).json()["role"] == "liaison"
    assert AuditEvent.objects.filter(kind="token", source="system", actor=None, subject_id=str(token.pk)).exists()


def test_command_refuses_too_long_an_expiry_and_unknown_users(db):
    liaison(username="nightly")
    with pytest.raises(CommandError):
        call_command("api_token_create", "nightly", "--scope", "read", "--expires-in-days", "400")
    with pytest.raises(CommandError):
        call_command("api_token_create", "ghost", "--scope", "read", "--expires-in-days", "4")
    assert not ApiToken.objects.exists()


def test_a_token_request_gets_no_session_and_no_cookie(client, db):
    """The token's user is the request's user, but a program has no session to time out."""
    from django.conf import settings
    from django.contrib.sessions.models import Session

    user = reporter()
    response = client.get("/api/v1/editions", **bearer(token_for(user)))
    assert response.status_code == 200
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert not Session.objects.exists()
