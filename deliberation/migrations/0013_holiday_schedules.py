from django.db import migrations, models


def day_off_from_weekend_flag(apps, schema_editor):
    """A schedule that moved weekend meetings to Monday moves them to the next working day."""
    Schedule = apps.get_model("deliberation", "Schedule")
    Schedule.objects.filter(move_weekend_to_monday=True).update(on_day_off="next")
    Schedule.objects.filter(move_weekend_to_monday=False).update(on_day_off="keep")


def weekend_flag_from_day_off(apps, schema_editor):
    Schedule = apps.get_model("deliberation", "Schedule")
    Schedule.objects.update(move_weekend_to_monday=True)
    Schedule.objects.filter(on_day_off="keep").update(move_weekend_to_monday=False)


class Migration(migrations.Migration):
    dependencies = [
        ("deliberation", "0012_meeting_guests"),
        ("members", "0011_outside_units"),
    ]

    operations = [
        migrations.AddField(
            model_name="schedule",
            name="on_day_off",
            field=models.CharField(
                choices=[
                    ("keep", "keep the date"),
                    ("next", "move to the next working day"),
                    ("previous", "move to the previous working day"),
                ],
                default="next",
                max_length=10,
                verbose_name="on a day off",
            ),
        ),
        migrations.RunPython(day_off_from_weekend_flag, weekend_flag_from_day_off),
        migrations.RemoveField(model_name="schedule", name="move_weekend_to_monday"),
        migrations.AddConstraint(
            model_name="schedule",
            constraint=models.CheckConstraint(
                condition=models.Q(("on_day_off__in", ["keep", "next", "previous"])),
                name="schedule_on_day_off_known",
            ),
        ),
        migrations.AddField(
            model_name="meeting",
            name="move_reason",
            field=models.TextField(blank=True, verbose_name="reason for moving"),
        ),
        migrations.AddField(
            model_name="meeting",
            name="planned_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="planned for"),
        ),
        migrations.AddIndex(
            model_name="meeting",
            index=models.Index(
                condition=models.Q(("planned_at__isnull", False)),
                fields=["council", "planned_at"],
                name="meeting_planned_slot",
            ),
        ),
    ]
