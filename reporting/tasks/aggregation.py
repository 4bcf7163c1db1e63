from celery import shared_task

__all__ = ["edition_recompute_task"]


@shared_task(name="reporting.edition_recompute")
def edition_recompute_task(edition_id: int, *, rebuild: bool = False, only_changed: bool = True) -> int:
    """Recompute one edition's figures. Queued on commit after an approval or reopening, it
    recomputes only the groups whose returns changed; `manage.py aggregate` asks for all."""
    from reporting.services.aggregation import edition_figures_compute

    return edition_figures_compute(edition_id=edition_id, rebuild=rebuild, only_changed=only_changed)
