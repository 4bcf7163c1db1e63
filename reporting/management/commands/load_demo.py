import io
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from reporting.demo.generator import SEED, demo_dataset
from reporting.demo.load import DEMO_EDITION_YEAR, demo_dataset_load
from reporting.demo.open_edition import DemoEditionConflict, open_edition_load
from reporting.models import Edition
from reporting.services.aggregation import edition_figures_compute


class Command(BaseCommand):
    help = (
        "Load the national demo dataset: 1,237 synthetic institutions (codes DEMO0001…, names "
        "marked （示例）) with approved 2024 returns that reproduce the published 2023 national "
        "figures, then compute the figures; and a demo edition open today (2026, the 2024 "
        "questionnaire) with returns in every state of the review workflow. Deterministic; "
        "running it again changes nothing. Creates no user accounts."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        # The demo sits on top of the shipped editions; loading them again is a no-op.
        call_command("setup_survey", verbosity=0, stdout=self.stdout if options["verbosity"] > 1 else io.StringIO())
        dataset = demo_dataset(SEED)
        result = demo_dataset_load(dataset=dataset)
        edition = Edition.objects.get(year=DEMO_EDITION_YEAR)
        figures = edition_figures_compute(edition_id=edition.pk)
        self.stdout.write(self.style.SUCCESS(
            f"Demo dataset: {result.institutions_created} institutions created, "
            f"{result.institutions_updated} updated; {result.returns_created} returns created, "
            f"{result.returns_rewritten} rewritten ({result.answers_written} answers written); "
            f"{figures} figures computed for {edition.year} in {time.monotonic() - started:.1f} s."
        ))
        started = time.monotonic()
        try:
            open_result = open_edition_load(dataset=dataset)
        except DemoEditionConflict as exc:
            raise CommandError(str(exc)) from exc
        open_edition = open_result.edition
        statuses = ", ".join(f"{count} {status}" for status, count in sorted(open_result.by_status.items()))
        self.stdout.write(self.style.SUCCESS(
            f"Demo edition {open_edition.year} open for entry {open_edition.opens_on} to "
            f"{open_edition.closes_on} ({'loaded' if open_result.edition_changed else 'unchanged'}): "
            f"{open_result.returns_created} of {open_result.returns_planned} returns created "
            f"({statuses}; the other institutions have not started) in {time.monotonic() - started:.1f} s."
        ))
