"""Problems found in an uploaded file, each placed by row and column for the person fixing it."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class SpreadsheetProblem:
    row: int | None  # spreadsheet numbering: the first line of the file is row 1
    column: str | None  # a column letter, with the item code when known: "D (eq_pet_ct)"
    message: str

    def __str__(self):
        parts = []
        if self.row is not None:
            parts.append(_("row %(row)s") % {"row": self.row})
        if self.column:
            parts.append(_("column %(column)s") % {"column": self.column})
        return (", ".join(parts) + ": " if parts else "") + self.message

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


class SpreadsheetInvalid(Exception):
    """The file is rejected; nothing was written. ``problems`` lists every reason."""

    def __init__(self, problems: list[SpreadsheetProblem]):
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


def column_letter(index: int) -> str:
    """Spreadsheet letters for a 0-based column index: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters
