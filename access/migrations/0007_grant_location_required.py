# Every grant has its client's location (filled by records 0003_grant_locations).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('access', '0006_grant_location'),
        ('records', '0003_grant_locations'),
    ]

    operations = [
        migrations.AlterField(
            model_name='grant',
            name='location',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+',
                                    to='access.location'),
        ),
    ]
