from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("volunteers", "0004_ledger_service_date")]

    operations = [
        migrations.AlterField(
            model_name="hoursentry",
            name="served_on",
            field=models.DateField(verbose_name="date of service"),
        ),
        migrations.AddIndex(
            model_name="hoursentry",
            index=models.Index(fields=["volunteer", "served_on", "id"], name="ledger_served"),
        ),
    ]
