"""Aggregation of approved returns into the summary table (FigureValue)."""

from django.db import transaction


def edition_recompute_schedule(*, edition_id: int) -> None:
    """Queue a recomputation of the edition's figures once the current transaction commits."""
    from reporting.tasks.aggregation import edition_recompute_task

    transaction.on_commit(lambda: edition_recompute_task.delay(edition_id))


def edition_figures_compute(*, edition_id: int) -> None:
    """Recompute every figure of the edition (implemented by the aggregation work)."""
