"""Celery wrappers of the rounds' actions: safe to run twice (the database holds the work)."""

from celery import shared_task

from visits.actions import asked, rounds


@shared_task(acks_late=True)
def open_rounds() -> int:
    """On the quarter's first working days: the round of every street with paired teams."""
    return len(rounds.rounds_open_due())


@shared_task(acks_late=True)
def remind_overdue_rounds() -> int:
    """Once a day: the leaders of teams with households left in a round past due."""
    return rounds.overdue_remind()


@shared_task(acks_late=True)
def erase_asked_contacts() -> int:
    """Nightly: the contact details residents left when asking for a visit, once their
    time is up (see the action); idempotent."""
    return asked.asked_contacts_erase()
