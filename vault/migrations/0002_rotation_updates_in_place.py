"""Data keys are rewritten in place by KEK rotation: no index on the KEK version, and on
PostgreSQL half of each page left free, so that a row's new version fits beside the old one
(a heap-only update, no index entry to add). At 100,000 keys this took rotation on
PostgreSQL from 4.1 s to 1.5 s (bench/README.md, "Key rotation")."""

from django.db import migrations, models


def _fillfactor(value: int):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE vault_datakey SET (fillfactor = {int(value)})")

    return run


class Migration(migrations.Migration):

    dependencies = [
        ("vault", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="datakey",
            name="kek_version",
            field=models.PositiveIntegerField(),
        ),
        migrations.RunPython(_fillfactor(50), _fillfactor(100), hints={"model_name": "datakey"}),
    ]
