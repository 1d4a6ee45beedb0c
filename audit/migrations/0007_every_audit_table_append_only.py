from django.db import migrations


def install(apps, schema_editor):
    # Reinstalls every trigger with the rules of audit/triggers.py: prune permits,
    # verification runs, the chain head, alerts and the client index are guarded too.
    from audit import triggers

    triggers.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_client_index_after_the_fact")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
