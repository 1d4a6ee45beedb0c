from django.db import migrations


def install(apps, schema_editor):
    # The triggers are installed by 0007, with the rules of audit/triggers.py as they are
    # today: some refer to tables that later migrations rebuild on SQLite, which a trigger
    # installed here would make fail. A new database holds no events before then.
    pass


def remove(apps, schema_editor):
    from audit import triggers

    triggers.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial"), ("auditlog", "0017_add_actor_email")]

    operations = [migrations.RunPython(install, remove)]
