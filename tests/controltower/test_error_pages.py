"""No dead ends: 403, 404 and 500 are the product's pages (navigation, a way back), in the
demo (DEBUG on) too; an htmx request gets a line, not a page; /favicon.ico answers."""

import pytest
from django.test import Client
from django.urls import reverse

from controltower.views import errors

pytestmark = pytest.mark.django_db


def test_404_is_the_products_page_with_navigation_and_a_way_back(login, manager):
    response = login(manager).get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page
    assert "Back to the control tower" in page and f'href="{reverse("tower")}"' in page
    assert 'aria-label="Main"' in page  # the site's navigation
    assert "/no-such-page/" in page
    assert 'id="error-login"' not in page  # logged in: no login link


def test_404_for_an_anonymous_visitor_offers_the_login(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert 'id="error-login"' in page and reverse("login") in page
    assert "Back to the control tower" in page


def test_404_in_debug_is_still_the_products_page(login, manager, settings):
    settings.DEBUG = True
    response = login(manager).get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Back to the control tower" in page
    assert "Page not found at" not in page  # not Django's technical page
    # A view's own Http404 (a campaign that does not exist) too.
    response = login(manager).get(reverse("campaigns:detail", args=[999999]))
    assert response.status_code == 404 and "Back to the control tower" in response.content.decode()


def test_404_in_debug_leaves_developer_paths_to_django(login, manager, settings):
    settings.DEBUG = True
    response = login(manager).get("/static/no-such-file.css")
    assert response.status_code == 404
    assert "Back to the control tower" not in response.content.decode()


def test_404_keeps_the_content_security_policy(client):
    response = client.get("/no-such-page/")
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_403_shows_the_reason_with_navigation(login, legal_a):
    # Contacts are for managers and admins: the view raises PermissionDenied with a reason.
    response = login(legal_a).get(reverse("crm:index"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "You cannot open this page" in page
    assert "Only marketing managers and admins manage contacts." in page
    assert "Back to the control tower" in page and 'aria-label="Main"' in page
    assert "403 Forbidden" not in page


def test_403_without_a_reason_says_what_happened(rf, manager):
    request = rf.get("/somewhere/")
    request.user = manager
    response = errors.permission_denied(request, None)
    assert response.status_code == 403
    assert errors.FORBIDDEN in response.content.decode()


def test_htmx_requests_get_a_fragment_not_a_page(login, legal_a, manager):
    response = login(legal_a).get(reverse("crm:index"), headers={"HX-Request": "true"})
    assert response.status_code == 403
    body = response.content.decode()
    assert "<html" not in body and 'class="error-inline"' in body
    assert "Only marketing managers and admins manage contacts." in body
    response = login(manager).get("/no-such-page/", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert "<html" not in response.content.decode()
    assert 'data-status="404"' in response.content.decode()


def test_500_is_the_products_page_and_needs_no_database(rf):
    request = rf.get("/boom/")
    response = errors.server_error(request)
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert "Back to the control tower" in page


def test_a_failing_view_answers_the_500_page(manager, monkeypatch, settings):
    import controltower.selectors as tower_selectors

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(tower_selectors, "tower_summary", explode)
    client = Client(raise_request_exception=False)
    client.force_login(manager)
    response = client.get(reverse("tower"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_favicon_answers(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")
    svg = client.get(response["Location"])
    assert svg.status_code == 200
    content = b"".join(svg.streaming_content) if svg.streaming else svg.content
    assert content.startswith(b"<svg")


def test_every_page_links_the_icon(login, manager):
    assert 'rel="icon"' in login(manager).get(reverse("tower")).content.decode()
