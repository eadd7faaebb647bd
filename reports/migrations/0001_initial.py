"""Period reports, moved here from issues: the table (issues_periodreport) and its rows stay."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_content_type(old_app: str, new_app: str, model: str):
    """Keep the model's content type (and the permissions that point at it) under its new app."""

    def forwards(apps, schema_editor):
        content_types = apps.get_model("contenttypes", "ContentType")
        if not content_types.objects.filter(app_label=new_app, model=model).exists():
            content_types.objects.filter(app_label=old_app, model=model).update(app_label=new_app)

    return forwards


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('issues', '0011_period_report_moves_to_reports'),
        ('members', '0005_council_moves_here'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The table stays where it is: only Django's idea of which app owns it changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.CreateModel(
                name='PeriodReport',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('scope_key', models.CharField(max_length=30)),
                    ('kind', models.CharField(choices=[('quarter', 'quarterly report'), ('year', 'year-end report')], max_length=10, verbose_name='report')),
                    ('since', models.DateField(verbose_name='from')),
                    ('until', models.DateField(verbose_name='to')),
                    ('language', models.CharField(max_length=10)),
                    ('state', models.CharField(choices=[('pending', 'waiting'), ('running', 'being prepared'), ('done', 'ready'), ('failed', 'failed')], default='pending', max_length=10, verbose_name='state')),
                    ('progress', models.PositiveSmallIntegerField(default=0)),
                    ('file', models.FileField(blank=True, upload_to='reports/%Y/')),
                    ('size', models.PositiveIntegerField(default=0)),
                    ('error', models.TextField(blank=True)),
                    ('created', models.DateTimeField(auto_now_add=True)),
                    ('started_at', models.DateTimeField(blank=True, null=True)),
                    ('finished_at', models.DateTimeField(blank=True, null=True)),
                    ('community', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='period_reports', to='members.community')),
                    ('requested_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('street', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='members.street')),
                ],
                options={
                    'verbose_name': 'period report',
                    'verbose_name_plural': 'period reports',
                    'db_table': 'issues_periodreport',
                    'ordering': ['-created', '-id'],
                    'indexes': [models.Index(fields=['community', '-created'], name='periodreport_community'), models.Index(fields=['street', '-created'], name='periodreport_street')],
                    'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('community__isnull', True), ('street__isnull', False)), models.Q(('community__isnull', False), ('street__isnull', True)), _connector='OR'), name='periodreport_one_scope'), models.CheckConstraint(condition=models.Q(('state__in', ['pending', 'running', 'done', 'failed'])), name='periodreport_state_known'), models.CheckConstraint(condition=models.Q(('until__gte', models.F('since'))), name='periodreport_range'), models.UniqueConstraint(condition=models.Q(('state__in', ['pending', 'running'])), fields=('scope_key', 'since', 'until', 'language'), name='periodreport_one_busy')],
                },
            ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type('issues', 'reports', 'periodreport'), migrations.RunPython.noop),
    ]
