"""The demo data of ``deliberation``'s ``seed_demo``, and 马南社区's volunteer teams.

This app is listed before ``deliberation`` in INSTALLED_APPS, so ``seed_demo`` (and
``demo``, which calls it) runs this command: the meetings' demo first, then the teams,
their activities, service hours and exchanges, and the demo volunteer's account.
"""

from __future__ import annotations

from django.db import transaction

from deliberation.management.commands.seed_demo import DEMO_PASSWORD
from deliberation.management.commands.seed_demo import Command as MeetingsDemo
from members.models import Community
from volunteers import demo


class Command(MeetingsDemo):
    help = MeetingsDemo.help + " Then 马南社区's volunteer teams, activities and service hours."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        super().handle(*args, **options)
        manan = Community.objects.get(street__name="南恩街道", name="马南社区")
        for username, role, place in demo.seed(manan, password=DEMO_PASSWORD):
            self.stdout.write(f"  {username:<16} {role} · {place}")
        self.stdout.write("")
