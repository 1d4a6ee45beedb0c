"""Importing clients from a spreadsheet (.csv or .xlsx) exported by a salon's old system.

All or nothing: every row is checked first, and if any row is bad nothing is written and
every problem is reported by spreadsheet line (the header is line 1). A row that matches a
client already at the location — by phone, else email, else name, through the blind
indexes — is compared with that client: it is unchanged, or changed (which fields), and
with `update` the changed ones are written; blank cells never erase. Every line is
reported as new, changed, unchanged or skipped (with the reason), so the same file
imported twice creates nobody twice and says so. Columns above the importer's ceiling are
left out and named.

The file is read in memory only. No cell value reaches a log, an audit event or an error
message: errors and reports name the line, the column, the client code and the reason.

The package, by topic: `columns` (the titles and labels of the columns we know),
`workbook` and `encoding` (sizing up an .xlsx, the text encoding of a CSV), `reading`
(file type, CSV and XLSX lines, the header), `checking` (each row's values, duplicates
within the file), `planning` (matching and comparing with the clients present),
`batches` (short write transactions and their undo), `writing` (`clients_import`, which
runs it all) and `staging` (the file held, encrypted, between preview and confirmation).
"""

from __future__ import annotations

from .columns import LABELS, TITLES
from .writing import ImportResult, PlanChanged, ReportLine, clients_import

__all__ = ["LABELS", "MAX_ROWS", "TITLES", "ImportResult", "PlanChanged", "ReportLine",
           "clients_import"]

# Kept on the package, not in `reading`: `reading` looks it up here for every file it
# reads, so the limit has one home that callers (and tests) can see and change.
MAX_ROWS = 50_000
