"""The `--edition YEAR` option the survey's commands share."""

from django.core.management.base import CommandError

from reporting.models import Edition


def add_edition_argument(parser) -> None:
    parser.add_argument("--edition", type=int, required=True, help="survey year, e.g. 2024")


def edition_for_option(year: int) -> Edition:
    """The edition named by --edition, or a CommandError saying how to create it."""
    try:
        return Edition.objects.get(year=year)
    except Edition.DoesNotExist:
        raise CommandError(f"--edition: there is no edition {year} (run setup_survey)") from None
