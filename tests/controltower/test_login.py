"""Logging in: the real form, throttled repeated failures, strong passwords."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_form_logs_in_and_lands_on_campaigns(client, manager):
    response = client.post(reverse("login"), {"username": "manager", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("tower")
    assert client.get(reverse("tower")).status_code == 200


def test_wrong_password_is_refused_with_a_message(client, manager):
    response = client.post(reverse("login"), {"username": "manager", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_repeated_failures_are_locked_out_even_with_the_right_password(client, manager, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "manager", "password": "wrong-guess"})
    response = client.post(reverse("login"), {"username": "manager", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()
    assert client.get(reverse("tower")).status_code == 302  # still logged out


def test_logout_is_a_post(client, manager):
    client.force_login(manager)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("tower")).status_code == 302


@pytest.mark.parametrize("weak", ["short1", "password123", "12345678901", "manager-pass"])
def test_weak_passwords_are_rejected(weak, manager):
    with pytest.raises(ValidationError):
        validate_password(weak, user=manager)
