from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from institutions.management.user_option import actor_for_option
from institutions.services import (
    InstitutionImportInvalid,
    RegistryChangeRefused,
    institution_dataset_read,
    institution_import,
)


class Command(BaseCommand):
    help = (
        "Create or update institutions from a CSV or XLSX file with the header "
        "code,name,province,city,ownership,hospital_level. Updates by code; a file with any "
        "bad row is rejected whole, with every problem listed."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--user", help="username recorded as the actor in the audit trail (a society admin)")

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        actor = actor_for_option(options["user"])
        try:
            # Command-line users get English messages whatever the site's default language.
            with translation.override("en"):
                dataset = institution_dataset_read(content=path.read_bytes(), filename=path.name)
                result = institution_import(dataset=dataset, actor=actor, comment=f"import_institutions {path.name}")
        except RegistryChangeRefused as exc:
            raise CommandError(f"{options['user']} is not a society admin; nothing was written.") from exc
        except InstitutionImportInvalid as exc:
            raise CommandError(
                f"{path} was rejected; nothing was written:\n"
                + "\n".join(f"  {problem}" for problem in exc.problems)
            ) from exc
        self.stdout.write(
            f"{path.name}: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged."
        )
