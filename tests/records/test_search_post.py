"""A search's terms are posted: never in a URL, a Referer, a link, a log line or an audit row."""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import quote, quote_plus

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AccessEvent
from tests.conftest import verify_otp

LIST = "/clients/"


def _forms_of(term: str) -> list[str]:
    """The term as it would appear in a URL or a log line, in every usual encoding."""
    return [term, quote(term), quote_plus(term), quote(term).lower()]


def _links(html: str) -> list[str]:
    return re.findall(r'(?:href|src|action|formaction)="([^"]*)"', html)


@pytest.fixture
def two_clients(make_client):
    return (make_client(full_name="李娜", phone="13812345678"),
            make_client(full_name="赵敏", phone="13700009999"))


@pytest.mark.parametrize("term", ["13812345678", "5678", "李娜"])
def test_a_posted_search_finds_the_client_by_phone_or_name(login, receptionist, two_clients, term):
    response = login(receptionist).post(reverse("records:client_list"), {"q": term})
    page = response.content.decode()
    assert response.status_code == 200
    assert "李娜" in page and "赵敏" not in page
    assert "1 client found" in page


def test_a_get_with_a_term_is_ignored_and_shows_the_plain_list(login, receptionist, two_clients):
    response = login(receptionist).get(reverse("records:client_list"), {"q": "李娜"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "李娜" in page and "赵敏" in page
    assert "found" not in page
    assert not AccessEvent.objects.filter(action="client.search").exists()
    assert AccessEvent.objects.filter(action="client.list").latest("seq").detail == {}


def test_the_term_is_in_no_url_header_link_log_or_audit_row(login, receptionist, two_clients,
                                                           caplog):
    term = "13812345678"
    caplog.set_level(logging.DEBUG)
    response = login(receptionist).post(reverse("records:client_list"), {"q": term})
    page = response.content.decode()
    assert "李娜" in page
    assert response.wsgi_request.get_full_path() == LIST  # the page's address, as the browser keeps it
    assert "Location" not in response  # answered directly, not redirected to a URL with the term
    assert response["Referrer-Policy"] == "same-origin"
    for link in _links(page):
        assert not any(form in link for form in _forms_of(term)), link
    for form in _forms_of(term):
        assert form not in caplog.text
    rows = [json.dumps(row, default=str, ensure_ascii=False)
            for row in AccessEvent.objects.values()]
    assert rows and not any(form in row for row in rows for form in _forms_of(term))
    event = AccessEvent.objects.filter(action="client.search").latest("seq")
    assert event.detail["query_kind"] == "phone" and len(event.detail["term_hmac"]) == 32


def test_a_search_without_the_csrf_token_is_refused(receptionist, two_clients):
    http = Client(enforce_csrf_checks=True)
    http.force_login(receptionist)
    verify_otp(http, receptionist)
    refused = http.post(reverse("records:client_list"), {"q": "李娜"})
    assert refused.status_code == 403
    assert "李娜" not in refused.content.decode()
    assert not AccessEvent.objects.filter(action="client.search").exists()
    # The same search from the page's own form, with its token, goes through.
    form = http.get(reverse("records:client_list")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    found = http.post(reverse("records:client_list"), {"q": "李娜", "csrfmiddlewaretoken": token})
    assert found.status_code == 200 and "赵敏" not in found.content.decode()


def _codes(html: str) -> list[str]:
    return re.findall(r'<td><a href="/clients/[0-9a-f-]+/">([A-Z]+-\d+)</a></td>', html)


def _next_page(html: str) -> dict | None:
    """The hidden fields of the results page's "Next" form, if it has one."""
    form = re.search(r'<form method="post" action="/clients/">(?:(?!</form>).)*?'
                     r'name="page" value="next"', html, re.S)
    if form is None:
        return None
    return dict(re.findall(r'<input type="hidden" name="(q|after|before)" value="([^"]*)"',
                           form.group(0)))


def test_search_results_page_forwards_without_the_term_in_any_url(login, owner, make_client,
                                                                  monkeypatch):
    monkeypatch.setattr("records.views.PAGE_SIZE", 5)
    wangs = sorted(make_client(full_name=f"王{i}", phone=f"1390000{i:04d}").code
                   for i in range(7))
    make_client(full_name="赵敏", phone="13700009999")
    http = login(owner)
    first = http.post(reverse("records:client_list"), {"q": "王"}).content.decode()
    assert "7 clients found" in first
    following = _next_page(first)
    assert following is not None and following["q"] == "王"
    assert not any("q=" in link or quote("王") in link for link in _links(first))
    second = http.post(reverse("records:client_list"), following).content.decode()
    assert _codes(first) + _codes(second) == wangs
    assert _next_page(second) is None
    assert "7 clients found" in second  # the count is of every match, not of the page
    assert "赵敏" not in first + second
