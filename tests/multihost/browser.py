"""A person's browser in front of several app hosts, as behind a reverse proxy.

Behind the proxy every app host is the same site (one host name, one cookie jar); here the
test chooses which host each request reaches, so it can go through host 1 and then host 2.
Cookies (the session, the CSRF token) are kept once for the site, whichever host set them;
forms send the CSRF token as Django expects.
"""

from __future__ import annotations

import re
import time

import httpx

SITE = "survey.test"  # the name the proxy would serve; every app host allows it


class Browser:
    def __init__(self, hosts: dict[str, str], *, language: str = "en", timeout: float = 300):
        self.hosts = hosts  # host name -> "http://10.x.n.2:8000"
        self.cookies: dict[str, str] = {}
        self.client = httpx.Client(timeout=timeout, follow_redirects=False,
                                   headers={"Host": SITE, "Accept-Language": language})

    def close(self) -> None:
        self.client.close()

    def _keep(self, response: httpx.Response) -> httpx.Response:
        for name, value in response.cookies.items():
            self.cookies[name] = value
        return response

    def request(self, host: str, method: str, path: str, headers: dict | None = None, **kwargs) -> httpx.Response:
        url = self.hosts[host] + path
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        response = self.client.request(method, url, headers=headers, **kwargs)
        self.client.cookies.clear()  # the site's jar is self.cookies, not one per host address
        return self._keep(response)

    def get(self, host: str, path: str, **kwargs) -> httpx.Response:
        return self.request(host, "GET", path, **kwargs)

    def post(self, host: str, path: str, data: dict | None = None, files=None) -> httpx.Response:
        """POST a form, with the CSRF token of the page's cookie (GET a page first)."""
        data = dict(data or {})
        data.setdefault("csrfmiddlewaretoken", self.cookies.get("csrftoken", ""))
        return self.request(host, "POST", path, data=data, files=files,
                            headers={"Referer": f"http://{SITE}{path}"})

    def login(self, host: str, username: str, password: str) -> None:
        page = self.get(host, "/accounts/login/")
        assert page.status_code == 200, page.text[:500]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        response = self.post(host, "/accounts/login/", {
            "username": username, "password": password, "csrfmiddlewaretoken": token,
        })
        assert response.status_code == 302, f"login on {host} failed: {response.status_code} {response.text[:500]}"


def wait_for(description: str, check, *, timeout: float, interval: float = 0.5):
    """Call check() until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {description} (last: {last!r})")
