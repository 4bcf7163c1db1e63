"""The Content Security Policy header, and templates that need nothing it refuses.

(tests/browser/test_content_security_policy.py checks the pages in Chromium.)
"""

import re
from pathlib import Path

import pytest
from django.test import Client

from tests import factories

ROOT = Path(__file__).resolve().parent.parent
# What the policy refuses in markup: inline scripts, <style> blocks, style attributes and
# on...= handlers. (SVG presentation attributes such as fill= are fine.)
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle\s*=|\son[a-z]+\s*=",
    re.IGNORECASE,
)


@pytest.mark.parametrize(
    "template", sorted(str(p.relative_to(ROOT)) for p in (ROOT / "templates").rglob("*.html")),
)
def test_templates_have_no_inline_script_or_style(template):
    text = (ROOT / template).read_text()
    text = re.sub(r"{#.*?#}", "", text)  # comments may mention what they avoid
    assert INLINE.findall(text) == []


def test_pages_carry_the_policy(client, db):
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert directives["base-uri"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_a_failed_csrf_check_shows_the_sites_page(db):
    client = Client(enforce_csrf_checks=True)
    client.force_login(factories.reporter())

    response = client.post("/accounts/logout/")

    assert response.status_code == 403
    page = response.content.decode()
    assert "表单未能提交" in page and 'class="navbar' in page
    assert INLINE.findall(page) == []
