"""A ledger row records the day of the service: a credit its activity's day (in the
project's time zone), any other row the day it was written. Rows written before get the
same dates here; the append-only trigger stands aside for this one copy on PostgreSQL."""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations, models

COPY = """
ALTER TABLE volunteers_hoursentry DISABLE TRIGGER volunteers_hoursentry_append_only;
UPDATE volunteers_hoursentry AS entry
   SET served_on = (activity.starts_at AT TIME ZONE %(zone)s)::date
  FROM volunteers_attendance AS attendance
  JOIN volunteers_activity AS activity ON activity.id = attendance.activity_id
 WHERE entry.attendance_id = attendance.id AND entry.served_on IS NULL;
UPDATE volunteers_hoursentry
   SET served_on = (created AT TIME ZONE %(zone)s)::date
 WHERE served_on IS NULL;
ALTER TABLE volunteers_hoursentry ENABLE TRIGGER volunteers_hoursentry_append_only;
"""


def copy_dates(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(COPY, {"zone": settings.TIME_ZONE})
        return
    HoursEntry = apps.get_model("volunteers", "HoursEntry")
    zone = ZoneInfo(settings.TIME_ZONE)
    rows = HoursEntry.objects.filter(served_on__isnull=True).select_related(
        "attendance__activity"
    )
    batch = []
    for entry in rows.iterator(chunk_size=2000):
        when = entry.attendance.activity.starts_at if entry.attendance_id else entry.created
        entry.served_on = when.astimezone(zone).date() if when.tzinfo else when.date()
        batch.append(entry)
        if len(batch) >= 2000:
            HoursEntry.objects.bulk_update(batch, ["served_on"])
            batch = []
    if batch:
        HoursEntry.objects.bulk_update(batch, ["served_on"])


class Migration(migrations.Migration):
    dependencies = [
        ("volunteers", "0003_join_requests"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="hoursentry",
            name="served_on",
            field=models.DateField(null=True, verbose_name="date of service"),
        ),
        migrations.RunPython(copy_dates, migrations.RunPython.noop),
    ]
