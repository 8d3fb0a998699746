"""Under /api/ every error is JSON in the API's one shape (``{"error": "…"}``), DEBUG or
not; /api/v1/ itself is an index of the API; the Redoc page loads nothing from elsewhere."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

UNKNOWN = [
    "/api/",
    "/api",
    "/api/v2/",
    "/api/v1/nope",
    "/api/v1/campaigns/abc",
    "/api/nothing/here",
]


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", UNKNOWN)
def test_unknown_api_paths_answer_json_404(client, settings, debug, path):
    settings.DEBUG = debug
    response = client.get(path)
    assert response.status_code == 404, path
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body == {"error": "No such resource."}


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_api_paths_answer_json_for_a_logged_in_person_too(login, manager, settings, debug):
    settings.DEBUG = debug
    response = login(manager).get("/api/v1/no-such-thing")
    assert response.status_code == 404 and "error" in response.json()


@pytest.mark.parametrize("debug", [False, True])
def test_api_v1_is_an_index_of_links(client, settings, debug):
    settings.DEBUG = debug
    response = client.get("/api/v1/")
    assert response.status_code == 200
    body = response.json()
    assert body["links"]["schema"].endswith(reverse("api:schema"))
    assert body["links"]["docs"].endswith(reverse("api:docs"))
    assert body["links"]["campaigns"].endswith(reverse("api:campaigns"))
    assert "Bearer" in body["authentication"]
    for url in body["links"].values():
        assert url.startswith("http://testserver/api/v1/")


def test_api_index_refuses_writes(client):
    assert client.post("/api/v1/").status_code == 405


def test_redoc_page_loads_nothing_from_the_internet(client):
    response = client.get(reverse("api:redoc"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "googleapis" not in page and "gstatic" not in page
    assert "https://" not in page and "http://" not in page.replace("http://www.w3.org", "")
    assert "redoc.standalone.js" in page
