"""Behind a proxy the audit log names the client's address, not the proxy's, and a
client cannot choose what it says by sending its own X-Forwarded-For."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AccessEvent

PROXY = "10.0.0.9"


def _opened_from(http, client_record, **headers) -> str:
    http.get(reverse("records:client_detail", args=[client_record.pk]), REMOTE_ADDR=PROXY,
             **headers)
    return AccessEvent.objects.filter(action="client.open").latest("seq").ip


@pytest.mark.parametrize(("proxies", "forwarded", "recorded"), [
    (0, "6.6.6.6", PROXY),  # no proxy: the connection's address, not the claim
    (1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # a claim, then what the proxy appended
    (2, "203.0.113.5", PROXY),  # the request skipped a proxy: its own address
    (1, "<script>, unknown", PROXY),  # an entry that is no address is never recorded
], ids=["no proxy", "behind one proxy", "skipped the proxy", "not an address"])
def test_the_address_recorded_is_the_one_the_nearest_trusted_proxy_saw(
        login, owner, client_record, settings, proxies, forwarded, recorded):
    settings.TRUSTED_PROXY_COUNT = proxies
    assert _opened_from(login(owner), client_record, HTTP_X_FORWARDED_FOR=forwarded) == recorded
