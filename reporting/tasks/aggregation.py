from celery import shared_task

__all__ = ["edition_recompute_task"]


@shared_task(name="reporting.edition_recompute")
def edition_recompute_task(edition_id: int) -> int:
    """Recompute one edition's figures (queued on commit after an approval or reopening)."""
    from reporting.services.aggregation import edition_figures_compute

    return edition_figures_compute(edition_id=edition_id)
