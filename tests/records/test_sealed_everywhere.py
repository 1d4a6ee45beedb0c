"""Outside a scope, a record's personal fields are ‹sealed› wherever they go."""

from __future__ import annotations

import logging

import pytest
from django.core import serializers
from kombu.exceptions import EncodeError

from records.models import Client


@pytest.fixture
def loaded(client_record):
    return Client.objects.get(pk=client_record.pk)


def test_a_sealed_value_cannot_be_sent_to_a_task(loaded, settings):
    from records.tasks import make_photo_thumbnail
    from salon_vault.celery import app

    app.conf.task_always_eager = False
    with pytest.raises((EncodeError, TypeError)):
        make_photo_thumbnail.delay(loaded.full_name)


def test_log_lines_show_sealed(loaded, caplog):
    caplog.set_level(logging.INFO)
    logging.getLogger("records").info("client %s phone %r", loaded.full_name, loaded.phone)
    assert "‹sealed›" in caplog.text and "李娜" not in caplog.text


def test_django_serializers_show_sealed(loaded):
    text = serializers.serialize("json", [loaded])
    assert "‹sealed›" in text and "李娜" not in text and "13812345678" not in text


def test_exceptions_show_sealed(loaded):
    with pytest.raises(ValueError) as info:
        raise ValueError(f"could not process {loaded.full_name}")
    assert "李娜" not in str(info.value)


def test_repr_of_the_instance_shows_only_the_code(loaded):
    assert repr(loaded) == f"<Client: {loaded.code}>"
