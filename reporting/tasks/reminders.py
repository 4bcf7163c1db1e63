from celery import shared_task

__all__ = ["reminders_send_task"]


@shared_task(name="reporting.reminders_send")
def reminders_send_task(
    edition_id: int, institution_ids: list[int], actor_id: int | None = None, source: str | None = None
) -> int:
    """Send reminders; without an actor (a scheduled run) the trail records the system as sender."""
    from django.contrib.auth import get_user_model

    from reporting.models import Edition
    from reporting.services.reminders import reminders_send

    edition = Edition.objects.get(pk=edition_id)
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    return reminders_send(edition=edition, institution_ids=institution_ids, actor=actor, source=source)
