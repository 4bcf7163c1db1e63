"""Spreadsheets of returns: reading uploads safely, building templates, parsing rows.

- ``reading``: bytes of an uploaded CSV/XLSX file -> rows of cell values, with every
  defence against hostile files (size and row caps, zip bombs, formulas, merged cells);
- ``layout``: the columns and note rows every template, upload and export shares;
- ``templates``: the XLSX template (bilingual labels, units, drop-downs);
- ``parsing``: rows -> typed values per institution, with every problem listed.
"""

from reporting.spreadsheets.problems import SpreadsheetInvalid, SpreadsheetProblem

__all__ = ["SpreadsheetInvalid", "SpreadsheetProblem"]
