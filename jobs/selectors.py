"""Who may see a background job and fetch its file: its owner, and society admins."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.utils import timezone

from institutions.selectors import user_is_society_admin
from jobs.models import BackgroundJob


def job_visible_to(*, user, job_id, kind: str | None = None, owner_only: bool = False) -> BackgroundJob | None:
    """The job if `user` may see it (its owner; a society admin unless `owner_only`) and it
    has not expired; None otherwise, so the caller answers 404 either way."""
    if user is None or not user.is_authenticated:
        return None
    try:
        job_id = uuid.UUID(str(job_id))
    except ValueError:
        return None
    jobs = BackgroundJob.objects.filter(pk=job_id, expires_at__gt=timezone.now())
    if kind is not None:
        jobs = jobs.filter(kind=kind)
    is_admin = user_is_society_admin(user)
    if owner_only or not is_admin:
        jobs = jobs.filter(owner=user)
    if not is_admin:
        # A whole-edition export holds every institution's data: its owner may fetch it only
        # while still a society admin (as the API decides), not after losing the role.
        jobs = jobs.exclude(kind__in=getattr(settings, "BACKGROUND_JOB_ADMIN_ONLY_KINDS", ()))
    return jobs.first()


def job_list_owned_by(*, user, kind: str, limit: int = 10) -> list[BackgroundJob]:
    """The user's own jobs of one kind still kept, newest first."""
    return list(
        BackgroundJob.objects.filter(kind=kind, owner=user, expires_at__gt=timezone.now())
        .order_by("-created_at")[:limit]
    )
