"""Writes to the institution registry and to people's roles."""

import csv
from pathlib import Path

from django.db import transaction

from institutions.models import Province

PROVINCES_CSV = Path(__file__).resolve().parent / "data" / "provinces.csv"


@transaction.atomic
def province_list_load() -> int:
    """Make sure the 31 provincial divisions exist (the migration does this on a new database)."""
    count = 0
    with PROVINCES_CSV.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            Province.objects.update_or_create(
                code=row["code"], defaults={"name_zh": row["name_zh"], "name_en": row["name_en"]}
            )
            count += 1
    return count
