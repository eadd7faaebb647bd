"""Meetings, schedules and calendar feeds point at the council in members; the table stays."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('deliberation', '0007_review_decisions'),
        ('members', '0005_council_moves_here'),
    ]

    operations = [
        # The table stays where it is: only Django's idea of which app owns it changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.AlterField(
                model_name='schedule',
                name='council',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='schedules', to='members.council', verbose_name='council'),
            ),
            migrations.AlterField(
                model_name='calendarfeed',
                name='council',
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='calendar_feeds', to='members.council', verbose_name='council'),
            ),
            migrations.AlterField(
                model_name='meeting',
                name='council',
                field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='meetings', to='members.council', verbose_name='council'),
            ),
            migrations.DeleteModel(
                name='Council',
            ),
            ],
            database_operations=[],
        ),
    ]
