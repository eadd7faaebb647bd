from django.db import migrations

INDEX_SQL = (
    "CREATE INDEX IF NOT EXISTS issue_search_pairs ON issues_issue "
    "USING gin (string_to_array(search_bigrams, ' '))"
)


def create_search_index(apps, schema_editor):
    # Only PostgreSQL has GIN; SQLite searches by substring.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX_SQL)


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS issue_search_pairs")


DEFAULTS = [
    ("policy", "政策落实", "Policy implementation", True),
    ("interests", "居民利益", "Residents' interests", True),
    ("facilities", "公共设施", "Public facilities", True),
    ("environment", "环境卫生", "Environment and sanitation", True),
    ("security", "治安安全", "Public security", True),
    ("management", "日常管理", "Daily community management", True),
    ("stability", "社会稳定", "Social stability", True),
    ("neighbours", "邻里纠纷", "Neighbour disputes", True),
    ("appeals", "居民诉求", "Residents' appeals", True),
    ("livelihood", "民生保障", "Livelihood protection", True),
    ("other", "其他", "Other", False),
]


def seed_categories(apps, schema_editor):
    # A frozen copy of issues.categories.DEFAULT_CATEGORIES, as migrations must not import models.
    Street = apps.get_model("members", "Street")
    Category = apps.get_model("issues", "Category")
    for street in Street.objects.all():
        for position, (code, name, name_en, must) in enumerate(DEFAULTS):
            Category.objects.get_or_create(
                street=street,
                code=code,
                defaults={"name": name, "name_en": name_en, "must_deliberate": must,
                          "position": position},
            )


class Migration(migrations.Migration):
    dependencies = [("issues", "0001_initial"), ("members", "0001_initial")]

    operations = [
        migrations.RunPython(create_search_index, drop_search_index),
        migrations.RunPython(seed_categories, migrations.RunPython.noop),
    ]
