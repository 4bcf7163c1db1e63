"""From the outside: who may open or post to each data-entry page, and CSRF on every POST."""

import pytest
from django.test import Client

from reporting.models import SurveyReturn
from tests.reporting import entry_support
from tests.reporting.entry_support import form_data

# Shared fixtures of the data-entry tests.
open_edition, world = entry_support.open_edition, entry_support.world

RETURN_PAGES = ["/returns/{pk}/", "/returns/{pk}/review/", "/returns/{pk}/history/"]
RETURN_POSTS = [
    ("/returns/{pk}/", {"version": "1", "action": "save", "eq_pet_ct": "3"}),
    ("/returns/{pk}/", {"version": "1", "action": "submit"}),
    ("/returns/{pk}/review/", {"action": "review", "version": "1"}),
    ("/returns/{pk}/review/", {"action": "send_back", "send_back-comment": "x", "version": "1"}),
    ("/returns/{pk}/review/", {"action": "approve", "version": "1"}),
]
OTHER_PAGES = ["/returns/", "/completeness/", "/editions/2024/", "/audit/export.csv"]
OTHER_POSTS = [
    ("/returns/start/", {}),
    ("/completeness/reminders/", {}),
    ("/editions/2024/", {"action": "close"}),
]


def login(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", RETURN_PAGES + OTHER_PAGES)
def test_anonymous_is_sent_to_login(world, client, url):
    response = client.get(url.format(pk=world["return"].pk))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url, data", RETURN_POSTS + OTHER_POSTS)
def test_anonymous_post_is_sent_to_login_and_changes_nothing(world, client, url, data):
    response = client.post(url.format(pk=world["return"].pk), data)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert SurveyReturn.objects.get(pk=world["return"].pk).version == 1


@pytest.mark.parametrize("url", RETURN_PAGES)
def test_reporter_gets_404_for_another_institutions_return(world, url):
    client = login(world["reporter"])
    assert client.get(url.format(pk=world["return_other"].pk)).status_code == 404
    assert client.get(url.format(pk=world["return_shanghai"].pk)).status_code == 404


@pytest.mark.parametrize("url, data", RETURN_POSTS)
def test_reporter_post_to_another_institutions_return_is_404(world, url, data):
    client = login(world["reporter"])
    target = world["return_other"]
    assert client.post(url.format(pk=target.pk), data).status_code == 404
    target.refresh_from_db()
    assert target.version == 1 and not target.answers.exists()


@pytest.mark.parametrize("url", RETURN_PAGES)
def test_liaison_gets_404_for_another_provinces_return(world, url):
    client = login(world["liaison"])
    assert client.get(url.format(pk=world["return_shanghai"].pk)).status_code == 404
    assert client.get(url.format(pk=world["return_other"].pk)).status_code == 200


@pytest.mark.parametrize("url, data", RETURN_POSTS)
def test_liaison_post_to_another_provinces_return_is_404(world, url, data):
    client = login(world["liaison"])
    target = world["return_shanghai"]
    assert client.post(url.format(pk=target.pk), data).status_code == 404
    assert SurveyReturn.objects.get(pk=target.pk).version == 1


def test_reporter_sees_own_return_but_not_review_page(world):
    client = login(world["reporter"])
    assert client.get(f"/returns/{world['return'].pk}/").status_code == 200
    assert client.get(f"/returns/{world['return'].pk}/history/").status_code == 200
    assert client.get(f"/returns/{world['return'].pk}/review/").status_code == 404


def test_liaison_cannot_edit_values(world):
    client = login(world["liaison"])
    response = client.post(f"/returns/{world['return'].pk}/", form_data({"eq_pet_ct": 3}, version=1))
    assert response.status_code == 403
    assert not world["return"].answers.exists()


@pytest.mark.parametrize("url", ["/completeness/", "/editions/2024/", "/audit/export.csv"])
def test_reporters_get_404_on_overseer_pages(world, url):
    assert login(world["reporter"]).get(url).status_code == 404


@pytest.mark.parametrize("url", ["/editions/2024/", "/audit/export.csv"])
def test_liaisons_get_404_on_admin_pages(world, url):
    assert login(world["liaison"]).get(url).status_code == 404
    assert login(world["admin"]).get(url).status_code == 200


def test_liaison_cannot_post_to_admin_pages(world):
    response = login(world["liaison"]).post("/editions/2024/", {"action": "close"})
    assert response.status_code == 404
    world["edition"].refresh_from_db()
    assert world["edition"].status == "open"


@pytest.mark.parametrize("url, data, who", [
    ("/returns/{pk}/", {"version": "1", "action": "save", "eq_pet_ct": "3"}, "reporter"),
    ("/returns/{pk}/review/", {"action": "review", "version": "1"}, "liaison"),
    ("/returns/start/", {}, "reporter_shanghai"),
    ("/completeness/reminders/", {}, "liaison"),
    ("/editions/2024/", {"action": "close"}, "admin"),
])
def test_every_post_needs_the_csrf_token(world, url, data, who):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world[who])
    url = url.format(pk=world["return"].pk)
    assert client.post(url, data).status_code == 403
    # With the token (from a page the user can open) the same POST goes through.
    client.get("/")
    token = client.cookies["csrftoken"].value
    assert client.post(url, {**data, "csrfmiddlewaretoken": token}).status_code in (200, 302)
