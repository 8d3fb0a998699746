"""Webhook endpoints cannot be aimed inside: an outside probe subscribed the database's,
Redis's, the cloud metadata service's and a local admin's addresses, and "Send a test"
showed the admin the first 300 bytes of what each answered."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from governance.domain.errors import DomainError
from integrations import outbound
from integrations.models import WebhookSubscription
from integrations.services import webhook_send_test, webhook_subscribe
from monitoring.services.settings import monitoring_settings_problems

pytestmark = pytest.mark.django_db

INSIDE = [
    "http://127.0.0.1:5432/",
    "https://127.0.0.1:6379/",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]:8123/admin/",
    "https://10.0.0.7/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://0.0.0.0/",
    "https://100.64.0.1/",
]


@pytest.fixture
def production_rules(settings):
    settings.CONTROLTOWER_WEBHOOK_ALLOW_HTTP = False
    settings.CONTROLTOWER_WEBHOOK_ALLOW_PRIVATE = False


@pytest.mark.parametrize("url", INSIDE)
def test_inside_addresses_cannot_be_subscribed(production_rules, admin_user, brand_a, url):
    with pytest.raises(DomainError):
        webhook_subscribe(brand=brand_a, url=url, events=["anomaly.flagged"], user=admin_user)
    assert not WebhookSubscription.objects.exists()
    assert monitoring_settings_problems({"slack_webhook_url": url})["slack_webhook_url"]


def test_http_is_refused_unless_a_development_setup_allows_it(production_rules, settings):
    assert "an https:// URL" in outbound.url_problem("http://hooks.example.com/x")
    settings.CONTROLTOWER_WEBHOOK_ALLOW_HTTP = True
    assert outbound.url_problem("http://hooks.example.com/x") == ""


def test_a_name_that_resolves_inside_is_refused_when_sending(production_rules, monkeypatch):
    """DNS can point a public-looking name at the metadata service, or change its answer
    after the subscription was saved: the check is made at the moment of sending."""
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 443))],
    )
    with pytest.raises(outbound.AddressRefused, match="link-local"):
        outbound.post("https://hooks.example.com/x", b"{}", {}, timeout=2)


def test_the_connection_goes_to_the_address_that_was_checked(monkeypatch):
    checked = []
    real = socket.create_connection

    def spy(address, *args, **kwargs):
        checked.append(address)
        return real(address, *args, **kwargs)

    with _receiver(status=204) as port:
        monkeypatch.setattr(
            socket,
            "getaddrinfo",
            lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))],
        )
        monkeypatch.setattr(socket, "create_connection", spy)
        url = f"http://rebinding.example:{port}/x"
        assert outbound.post(url, b"{}", {}, timeout=2) == 204
    assert checked == [("127.0.0.1", port)]


def test_the_admin_sees_a_status_code_never_an_endpoints_answer(admin_user, brand_a):
    with _receiver(status=500, answer=b"-ERR internal secret: redis password is hunter2") as port:
        subscription, _ = webhook_subscribe(
            brand=brand_a,
            url=f"http://127.0.0.1:{port}/hook",
            events=["anomaly.flagged"],
            user=admin_user,
        )
        delivery = webhook_send_test(subscription_id=subscription.pk, user=admin_user)
    assert delivery.last_error == "HTTP 500"
    assert "hunter2" not in str(delivery.__dict__)


def test_a_redirect_is_not_followed(admin_user, brand_a):
    with _receiver(status=302, location="http://169.254.169.254/latest/") as port:
        subscription, _ = webhook_subscribe(
            brand=brand_a,
            url=f"http://127.0.0.1:{port}/hook",
            events=["anomaly.flagged"],
            user=admin_user,
        )
        delivery = webhook_send_test(subscription_id=subscription.pk, user=admin_user)
    assert delivery.last_error.startswith("HTTP 302: a redirect, not followed")


class _receiver:
    """A local endpoint answering every POST with ``status`` (and ``answer``)."""

    def __init__(self, *, status: int, answer: bytes = b"", location: str = "") -> None:
        self.status, self.answer, self.location = status, answer, location

    def __enter__(self) -> int:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(outer.status)
                if outer.location:
                    self.send_header("Location", outer.location)
                self.send_header("Content-Length", str(len(outer.answer)))
                self.end_headers()
                self.wfile.write(outer.answer)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.server.server_address[1]

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
