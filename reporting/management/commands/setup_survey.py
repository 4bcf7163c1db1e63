from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reporting.services.questionnaire import (
    DefinitionInvalid,
    definition_folders,
    edition_definition_load,
)


class Command(BaseCommand):
    help = (
        "Load every survey edition the project ships (questionnaire, rules, report definition, "
        "published figures). Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--path",
            action="append",
            type=Path,
            help="Load this definition folder instead of the shipped ones (repeatable).",
        )

    def handle(self, *args, **options):
        folders = options["path"] or definition_folders()
        for folder in folders:
            try:
                edition, changed = edition_definition_load(path=folder)
            except DefinitionInvalid as exc:
                raise CommandError(
                    f"{folder} was rejected; nothing was loaded from it:\n"
                    + "\n".join(f"  {p}" for p in exc.problems)
                ) from exc
            state = "loaded" if changed else "unchanged"
            self.stdout.write(
                f"Edition {edition.year} (definition {edition.definition_version}): {state}; "
                f"{edition.items.count()} items, {edition.rules.count()} rules, "
                f"{edition.indicators.count()} indicators, "
                f"{edition.published_figures.count()} published figures."
            )
