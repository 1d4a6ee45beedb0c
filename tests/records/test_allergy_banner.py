"""The client page opens with allergies and contraindications, for those who may read them."""

from __future__ import annotations

import re

from django.urls import reverse


def _banner(page: str) -> str | None:
    found = re.search(r'<section class="allergy-banner" id="allergy-banner".*?</section>', page,
                      re.S)
    return found.group(0) if found else None


def _client_page(http, client, language="en") -> str:
    response = http.get(reverse("records:client_detail", args=[client.pk]),
                        HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def test_stylist_sees_allergies_and_contraindications_first(login, stylist, make_client):
    client = make_client(full_name="李娜", allergies="对PPD染发剂过敏",
                         contraindications="孕期，避免化学烫发", assigned_staff=stylist)
    page = _client_page(login(stylist), client)
    banner = _banner(page)
    assert banner is not None
    assert "对PPD染发剂过敏" in banner and "孕期，避免化学烫发" in banner
    assert "Allergies" in banner and "Contraindications" in banner
    assert page.index('id="allergy-banner"') < page.index('class="card')


def test_the_banner_speaks_chinese_to_a_chinese_browser(login, stylist, make_client):
    client = make_client(allergies="对乳胶过敏", assigned_staff=stylist)
    banner = _banner(_client_page(login(stylist), client, language="zh-CN"))
    assert "过敏史" in banner and "Allergies" not in banner


def test_a_client_with_nothing_to_warn_of_gets_no_banner(login, stylist, make_client):
    client = make_client(skin_type="混合性", assigned_staff=stylist)
    assert _banner(_client_page(login(stylist), client)) is None


def test_receptionist_never_sees_the_banner(login, receptionist, make_client):
    client = make_client(allergies="对乳胶过敏")
    page = _client_page(login(receptionist), client)
    assert _banner(page) is None and "对乳胶过敏" not in page


def test_stylist_of_another_client_sees_no_banner_without_breaking_glass(login, stylist,
                                                                        make_client):
    client = make_client(allergies="对乳胶过敏")  # not assigned to the stylist
    page = _client_page(login(stylist), client)
    assert _banner(page) is None and "对乳胶过敏" not in page
