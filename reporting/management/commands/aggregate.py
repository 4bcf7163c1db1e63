import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from kombu.exceptions import OperationalError

from reporting.management.edition_option import add_edition_argument, edition_for_option
from reporting.models import FigureValue
from reporting.services.aggregation import edition_figures_compute
from reporting.tasks.aggregation import edition_recompute_task


class Command(BaseCommand):
    help = (
        "Recompute an edition's figures (national and by province, ownership and hospital "
        "level) from its approved returns. Runs through Celery when a broker is configured "
        "and waits for the result; in this process otherwise."
    )

    def add_arguments(self, parser):
        add_edition_argument(parser)
        parser.add_argument(
            "--timeout", type=float, default=600, help="seconds to wait for the Celery worker"
        )
        parser.add_argument(
            "--rebuild", action="store_true",
            help="sum every answer again instead of only the cells whose returns changed",
        )

    def handle(self, *args, edition, timeout, rebuild, **options):
        edition_obj = edition_for_option(edition)
        started = time.monotonic()
        result = None
        if settings.CELERY_BROKER_URL and not settings.CELERY_TASK_ALWAYS_EAGER:
            try:
                result = edition_recompute_task.delay(edition_obj.pk, rebuild=rebuild, only_changed=False)
            except (OperationalError, RuntimeError) as exc:  # broker; Redis result backend
                # The command repairs figures an outage left behind: it must work during one.
                self.stderr.write(f"The broker did not take the job ({exc}); computing in this process.")
        if result is not None:
            self.stdout.write(f"Queued task {result.id}; waiting for the worker…")
            try:
                written = result.get(timeout=timeout)
            except Exception as exc:  # the worker's error, re-raised by Celery
                raise CommandError(f"aggregation failed: {exc}") from exc
        else:
            written = edition_figures_compute(edition_id=edition_obj.pk, rebuild=rebuild)
        elapsed = time.monotonic() - started
        national = FigureValue.objects.filter(edition=edition_obj, breakdown="national").count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Edition {edition}: {written} figures computed ({national} national) "
                f"in {elapsed:.2f} s."
            )
        )
