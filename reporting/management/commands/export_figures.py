import json

from django.core.management.base import BaseCommand, CommandError

from reporting.management.edition_option import add_edition_argument, edition_for_option
from reporting.models import Breakdown
from reporting.services.exports import (
    FIGURE_COLUMN_NAMES,
    figure_download_rows,
    figures_csv,
    figures_json,
    figures_xlsx,
)


class Command(BaseCommand):
    help = (
        "Write every report indicator of an edition: CSV columns edition,group_by,group,key,value "
        "(national figures unless --by names a breakdown), values unrounded, an empty value where "
        "a percentage's denominator is 0; then, for people, " + ",".join(FIGURE_COLUMN_NAMES[5:]) + " "
        "(the value as printed, its unit, the indicator's and the group's names in Chinese and "
        "English, the format). Reads the figures `aggregate` computed."
    )

    def add_arguments(self, parser):
        add_edition_argument(parser)
        parser.add_argument(
            "--by", choices=[b for b in Breakdown.values if b != Breakdown.NATIONAL],
            help="a breakdown: one row per group and indicator",
        )
        parser.add_argument("--format", choices=["csv", "json", "xlsx"], default="csv")
        parser.add_argument("--output", help="file to write (default: standard output; required for xlsx)")

    def handle(self, *args, edition, by, format, output, **options):
        edition_obj = edition_for_option(edition)
        if format == "xlsx" and not output:
            raise CommandError("--output: an xlsx file must be written to a file, not the terminal")
        rows = figure_download_rows(edition=edition_obj, breakdown=by)
        if not rows:
            self.stderr.write(
                f"Edition {edition} has no figures{f' by {by}' if by else ''}: "
                f"approve returns and run `manage.py aggregate --edition {edition}`."
            )
        if format == "json":
            content = json.dumps(figures_json(rows), ensure_ascii=False, indent=1) + "\n"
        elif format == "csv":
            content = figures_csv(rows)
        else:
            content = figures_xlsx(rows)
        if output:
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(output, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": ""})) as handle:
                handle.write(content)
            self.stderr.write(f"Wrote {len(rows)} figures to {output}.")
        else:
            self.stdout.write(content, ending="")
