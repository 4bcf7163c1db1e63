from celery import shared_task

__all__ = ["edition_recompute_task"]


# A worker process killed mid-run (out of memory, a deploy) hands the job back to the queue
# instead of dropping it (acks_late alone acknowledges a job whose process died). Running it
# again is safe: it is one transaction, and an interrupted one wrote nothing.
@shared_task(name="reporting.edition_recompute", acks_late=True, reject_on_worker_lost=True)
def edition_recompute_task(edition_id: int, *, rebuild: bool = False, only_changed: bool = True) -> int:
    """Recompute one edition's figures. Queued on commit after an approval or reopening, it
    recomputes only the groups whose returns changed; `manage.py aggregate` asks for all."""
    from reporting.services.aggregation import edition_figures_compute

    return edition_figures_compute(edition_id=edition_id, rebuild=rebuild, only_changed=only_changed)
