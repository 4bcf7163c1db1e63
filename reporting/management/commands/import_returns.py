from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from institutions.management.user_option import actor_for_option
from reporting.management.edition_option import add_edition_argument, edition_for_option
from reporting.services.imports import returns_import
from reporting.spreadsheets import SpreadsheetInvalid


class Command(BaseCommand):
    help = (
        "Import returns from a CSV or XLSX file: one row per institution, institution_code then "
        "item codes as columns. The whole file is checked first; any error rejects it with every "
        "error listed (row, column, message) and nothing written. --approve marks the imported "
        "returns approved so they enter the national aggregate."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        add_edition_argument(parser)
        parser.add_argument("--approve", action="store_true", help="mark the imported returns approved")
        parser.add_argument("--user", help="username recorded as the actor in the audit trail")

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        edition = edition_for_option(options["edition"])
        if not edition.items.exists():
            raise CommandError(f"The {edition.year} edition has no questionnaire to import into.")
        actor = actor_for_option(options["user"])
        # Command-line users get English messages whatever the site's default language.
        with translation.override("en"):
            try:
                result = returns_import(
                    edition=edition, content=path.read_bytes(), filename=path.name,
                    actor=actor, approve=options["approve"],
                )
            except SpreadsheetInvalid as exc:
                raise CommandError(
                    f"{path} was rejected; nothing was written ({len(exc.problems)} problems):\n"
                    + "\n".join(f"  {problem}" for problem in exc.problems)
                ) from exc
            for warning in result.warnings:
                self.stderr.write(f"warning: {warning}")
        self.stdout.write(
            f"{path.name}: {result.returns} returns ({result.returns_created} created, "
            f"{result.returns_changed} changed, {result.values_changed} values changed"
            + (f", {result.returns_approved} approved" if options["approve"] else "")
            + f"); {len(result.warnings)} warnings."
        )
