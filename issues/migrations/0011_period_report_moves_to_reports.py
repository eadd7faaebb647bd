"""Period reports move to the reports app; the table (issues_periodreport) stays."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('issues', '0010_department_month'),
    ]

    operations = [
        # The table stays where it is: only Django's idea of which app owns it changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.DeleteModel(
                name='PeriodReport',
            ),
            ],
            database_operations=[],
        ),
    ]
