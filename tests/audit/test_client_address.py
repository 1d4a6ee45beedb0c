"""Behind a proxy the audit log names the client's address, not the proxy's, and a
client cannot choose what it says by sending its own X-Forwarded-For."""

from __future__ import annotations

from django.urls import reverse

from audit.models import AccessEvent

PROXY = "10.0.0.9"


def _opened_from(http, client_record, **headers) -> str:
    http.get(reverse("records:client_detail", args=[client_record.pk]), REMOTE_ADDR=PROXY,
             **headers)
    return AccessEvent.objects.filter(action="client.open").latest("seq").ip


def test_without_a_proxy_the_connection_address_is_recorded(login, owner, client_record,
                                                            settings):
    settings.TRUSTED_PROXY_COUNT = 0
    ip = _opened_from(login(owner), client_record, HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert ip == PROXY


def test_behind_one_proxy_the_address_it_appended_is_recorded(login, owner, client_record,
                                                              settings):
    settings.TRUSTED_PROXY_COUNT = 1
    ip = _opened_from(login(owner), client_record,
                      HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5")  # a claim, then the proxy
    assert ip == "203.0.113.5"


def test_a_request_that_skipped_the_proxy_falls_back_to_its_own_address(
        login, owner, client_record, settings):
    settings.TRUSTED_PROXY_COUNT = 2
    ip = _opened_from(login(owner), client_record, HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert ip == PROXY


def test_a_forwarded_entry_that_is_no_address_is_not_recorded(login, owner, client_record,
                                                              settings):
    settings.TRUSTED_PROXY_COUNT = 1
    ip = _opened_from(login(owner), client_record, HTTP_X_FORWARDED_FOR="<script>, unknown")
    assert ip == PROXY
