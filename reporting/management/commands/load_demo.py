import io
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from reporting.demo.load import DEMO_EDITION_YEAR, demo_dataset_load
from reporting.models import Edition
from reporting.services.aggregation import edition_figures_compute


class Command(BaseCommand):
    help = (
        "Load the national demo dataset: 1,237 synthetic institutions (codes DEMO0001…, names "
        "marked （示例）) with approved 2024 returns that reproduce the published 2023 national "
        "figures, then compute the figures. Deterministic; running it again changes nothing. "
        "Creates no user accounts."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        # The demo sits on top of the shipped editions; loading them again is a no-op.
        call_command("setup_survey", verbosity=0, stdout=self.stdout if options["verbosity"] > 1 else io.StringIO())
        result = demo_dataset_load()
        edition = Edition.objects.get(year=DEMO_EDITION_YEAR)
        figures = edition_figures_compute(edition_id=edition.pk)
        self.stdout.write(self.style.SUCCESS(
            f"Demo dataset: {result.institutions_created} institutions created, "
            f"{result.institutions_updated} updated; {result.returns_created} returns created, "
            f"{result.returns_rewritten} rewritten ({result.answers_written} answers written); "
            f"{figures} figures computed for {edition.year} in {time.monotonic() - started:.1f} s."
        ))
