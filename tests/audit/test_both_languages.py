"""The auditor's pages and exports speak the reader's language: people by display name,
actions and purposes by their label in the one catalogue (audit/actions.py)."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.views import CSV_HEADERS
from tests.audit.conftest import streamed


@pytest.fixture
def exporter(login, auditor):
    return login(auditor, reauthed=True)


def test_the_csv_export_speaks_chinese_to_a_chinese_reader(exporter, stylist, record_at):
    record_at(timezone.now(), actor=stylist, actor_label="stylist", action="client.open",
              purpose="view client record")
    response = exporter.get(reverse("audit:export_csv"), {"action": "client.open"},
                            HTTP_ACCEPT_LANGUAGE="zh-hans")
    header, *lines = csv.reader(io.StringIO(streamed(response).removeprefix("\ufeff")))
    assert header[:3] == ["序号", "时间", "人员"]
    assert len(lines) == 1
    row = dict(zip(CSV_HEADERS, lines[0], strict=True))
    assert row["action"] == "client.open" and row["action_label"] == "查看客户档案"
    assert row["purpose"] == "查看客户档案"


# -- people by name, actions and purposes by label, in the reader's language ---------------
def test_the_log_names_people_by_display_name_and_actions_by_label(login, auditor, stylist,
                                                                  record_at):
    from access.models import StaffProfile

    StaffProfile.objects.filter(user=stylist).update(display_name="王丽")
    record_at(timezone.now(), actor=stylist, actor_label="stylist", action="client.open",
              purpose="view client record")
    http = login(auditor)
    page = http.get(reverse("audit:events"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "王丽" in page and "Opened a client record" in page
    assert ">stylist<" not in page
    zh = http.get(reverse("audit:events"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "查看客户档案" in zh
    timeline = http.get(reverse("audit:person", args=[stylist.pk])).content.decode()
    assert "王丽" in timeline
