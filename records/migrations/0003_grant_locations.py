"""Grants made before they carried their client's location get it from the client."""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def fill(apps, schema_editor):
    Grant = apps.get_model("access", "Grant")
    Client = apps.get_model("records", "Client")
    Grant.objects.filter(location__isnull=True).update(location_id=Subquery(
        Client.objects.filter(pk=OuterRef("client_id")).values("location_id")[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ("access", "0006_grant_location"),
        ("records", "0002_importstaging"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
