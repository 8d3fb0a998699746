"""The login lock-out keys on the real client address. An outside probe sent 30 wrong
passwords through uvicorn with a different ``X-Forwarded-For`` each time and was never
locked out, and a locked-out user logged in with a new header: uvicorn trusted the
header from 127.0.0.1. Proxy headers now count only from ``TRUSTED_PROXIES``."""

import re
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

from controltower.server import proxy_options
from tests.stack import asgi_server

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-enough-password"


def attempt(base_url: str, username: str, password: str, forwarded_for: str) -> str:
    """One log-in through the real server, as a browser would; the page it lands on."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base_url + "/accounts/login/") as response:
        page = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(
        base_url + "/accounts/login/",
        data=form,
        headers={"X-Forwarded-For": forwarded_for, "Referer": base_url + "/accounts/login/"},
    )
    try:
        with opener.open(request) as response:
            return response.read().decode()
    except urllib.error.HTTPError as error:  # the lock-out answers 429
        return error.read().decode()


def test_a_forged_forwarded_for_does_not_escape_the_lock_out(tmp_path, manager, settings):
    manager.set_password(PASSWORD)
    manager.save()
    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        pages = [
            attempt(base_url, "manager", "wrong", forwarded_for=f"198.51.100.{i}")
            for i in range(1, 5)
        ]
        assert "Too many failed log-ins" in pages[-1]  # AXES_FAILURE_LIMIT is 3 in tests
        # Locked out: the right password with yet another forged address does not help.
        page = attempt(base_url, "manager", PASSWORD, forwarded_for="203.0.113.9")
        assert "Too many failed log-ins" in page


def test_proxy_headers_count_only_from_the_proxies_named():
    assert proxy_options("") == ["--no-proxy-headers"]
    assert proxy_options("10.0.0.5,10.0.1.0/24") == [
        "--proxy-headers",
        "--forwarded-allow-ips",
        "10.0.0.5,10.0.1.0/24",
    ]
