"""On PostgreSQL the database itself refuses to change or delete a ledger row: corrections
are new rows. (SQLite has the model's refusal only.)"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION volunteers_hoursentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'volunteers_hoursentry is append-only: record a correction instead';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER volunteers_hoursentry_append_only
    BEFORE UPDATE OR DELETE ON volunteers_hoursentry
    FOR EACH ROW EXECUTE FUNCTION volunteers_hoursentry_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS volunteers_hoursentry_append_only ON volunteers_hoursentry;
DROP FUNCTION IF EXISTS volunteers_hoursentry_append_only();
"""


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("volunteers", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
