"""The council model moves here from deliberation: members builds on nothing above it.

The table keeps its name (deliberation_council); no row moves."""

import django.core.validators
import django.db.models.deletion
from decimal import Decimal
from django.db import migrations, models


def move_content_type(old_app: str, new_app: str, model: str):
    """Keep the model's content type (and the permissions that point at it) under its new app."""

    def forwards(apps, schema_editor):
        content_types = apps.get_model("contenttypes", "ContentType")
        if not content_types.objects.filter(app_label=new_app, model=model).exists():
            content_types.objects.filter(app_label=old_app, model=model).update(app_label=new_app)

    return forwards


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('members', '0004_community_transparency'),
    ]

    operations = [
        # The table stays where it is: only Django's idea of which app owns it changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.CreateModel(
                name='Council',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('name', models.CharField(max_length=80, verbose_name='name')),
                    ('review_after_days', models.PositiveSmallIntegerField(default=7, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(90)], verbose_name='follow-up review after (days)')),
                    ('quorum_ratio', models.DecimalField(decimal_places=2, default=Decimal('0.50'), help_text='A meeting has a quorum when more than this share of the active members is present (0.5: more than half; 1: all of them).', max_digits=3, validators=[django.core.validators.MinValueValidator(Decimal('0.01')), django.core.validators.MaxValueValidator(Decimal('1'))], verbose_name='quorum (share of active members)')),
                    ('created', models.DateTimeField(auto_now_add=True)),
                    ('community', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='council', to='members.community', verbose_name='community')),
                ],
                options={
                    'verbose_name': 'council',
                    'verbose_name_plural': 'councils',
                    'db_table': 'deliberation_council',
                    'ordering': ['community_id'],
                },
            ),
            migrations.AlterField(
                model_name='councilmember',
                name='council',
                field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='members', to='members.council', verbose_name='council'),
            ),
            migrations.AddConstraint(
                model_name='council',
                constraint=models.CheckConstraint(condition=models.Q(('quorum_ratio__gt', 0), ('quorum_ratio__lte', 1)), name='council_quorum_ratio_range'),
            ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type('deliberation', 'members', 'council'), migrations.RunPython.noop),
    ]
