"""The client list pages by code: every client once, forwards and back, only those allowed."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from audit.models import AccessEvent


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr("records.views.PAGE_SIZE", 5)


def _codes(html: str) -> list[str]:
    return re.findall(r'<td><a href="/clients/[0-9a-f-]+/">([A-Z]+-\d+)</a></td>', html)


def _link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a href="(\?[^"]+)" rel="{rel}">', html)
    return found.group(1).replace("&amp;", "&") if found else None


def _walk(http, rel: str, start: str = "") -> list[list[str]]:
    pages, url = [], reverse("records:client_list") + start
    while True:
        html = http.get(url).content.decode()
        pages.append(_codes(html))
        nxt = _link(html, rel)
        if nxt is None:
            return pages
        url = reverse("records:client_list") + nxt


def test_next_links_show_every_client_once_in_code_order(small_pages, login, owner, make_client):
    made = sorted(make_client(full_name=f"客户{i}").code for i in range(12))
    pages = _walk(login(owner), "next")
    assert [len(p) for p in pages] == [5, 5, 2]
    assert [code for page in pages for code in page] == made


def test_previous_links_lead_back_through_the_same_pages(small_pages, login, owner, make_client):
    for i in range(12):
        make_client(full_name=f"客户{i}")
    http = login(owner)
    forward = _walk(http, "next")
    last_page_url = "?after=" + forward[-2][-1]
    backward = _walk(http, "prev", last_page_url)
    assert backward == forward[::-1]
    first = http.get(reverse("records:client_list")).content.decode()
    assert _link(first, "prev") is None


def test_a_stylist_pages_through_only_the_clients_they_may_see(
        small_pages, login, stylist, make_client, other_location):
    own = {make_client(full_name=f"本店{i}").code for i in range(7)}
    elsewhere = {make_client(full_name=f"他店{i}", location=other_location).code for i in range(6)}
    seen = [code for page in _walk(login(stylist), "next") for code in page]
    assert set(seen) == own and len(seen) == len(own)
    assert not set(seen) & elsewhere


def test_a_cursor_is_only_a_position_in_code_order(small_pages, login, owner, make_client):
    code = make_client(full_name="王芳").code
    http = login(owner)
    for params, shown in (({"after": "ZZZZ"}, []), ({"before": "!"}, []),
                          ({"after": "<script>x</script>"}, [code]), ({"after": "x" * 500}, []),
                          ({"before": "ZZZZ"}, [code])):
        response = http.get(reverse("records:client_list"), params)
        assert response.status_code == 200
        html = response.content.decode()
        assert _codes(html) == shown, params
        assert "<script>x" not in html


def test_each_page_is_recorded_with_its_cursor(small_pages, login, owner, make_client):
    codes = sorted(make_client(full_name=f"客户{i}").code for i in range(7))
    login(owner).get(reverse("records:client_list"), {"after": codes[4]})
    event = AccessEvent.objects.filter(action="client.list").latest("seq")
    assert event.detail["after"] == codes[4]
    assert len(event.subjects) == 2


def test_a_stylists_pages_hold_her_location_and_her_live_grants_elsewhere_in_code_order(
        small_pages, login, owner, stylist, make_client, other_location):
    """The list reads the rule in parts (own location, grants elsewhere); together the pages
    are exactly the clients the rule lets her see, forwards and back."""
    import datetime as dt

    from django.utils import timezone

    from access import services
    from access.models import Grant
    from records import selectors

    for i in range(7):
        make_client(full_name=f"本店{i}")
    far = [make_client(full_name=f"他店{i}", location=other_location) for i in range(9)]
    live, revoked, expired = far[1], far[4], far[6]
    services.grant_give(actor=owner, user=stylist, client=live)
    services.grant_give(actor=owner, user=stylist, client=far[8])
    services.grant_revoke(actor=owner, grant=services.grant_give(actor=owner, user=stylist,
                                                                 client=revoked))
    grant = services.grant_give(actor=owner, user=stylist, client=expired,
                                expires_at=timezone.now() + dt.timedelta(hours=1))
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))

    expected = sorted(selectors.clients_visible_to(stylist).values_list("code", flat=True))
    assert len(expected) == 9 and live.code in expected and revoked.code not in expected
    http = login(stylist)
    forward = _walk(http, "next")
    assert [code for page in forward for code in page] == expected
    backward = _walk(http, "prev", "?after=" + forward[-2][-1])
    assert [code for page in reversed(backward) for code in page] == expected
