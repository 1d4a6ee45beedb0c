"""Importing clients from a spreadsheet (.csv or .xlsx) exported by a salon's old system.

All or nothing: every row is checked first, and if any row is bad nothing is written and
every problem is reported by spreadsheet line (the header is line 1). A row that matches a
client already at the location — by phone, else email, else name, through the blind
indexes — is counted as already present and skipped, so the same file imported twice
creates nobody twice.

The file is read in memory only. No cell value reaches a log, an audit event or an error
message: errors name the line, the column and the reason.

The package, by topic: `columns` (the titles and labels of the columns we know),
`reading` (file type, decoding, CSV and XLSX lines, the header), `checking` (each row's
values, duplicates within the file) and `writing` (matching clients already present,
opening the door, the bulk insert, and `clients_import` that runs it all).
"""

from __future__ import annotations

from .columns import LABELS, TITLES
from .writing import ImportResult, clients_import

__all__ = ["LABELS", "MAX_ROWS", "TITLES", "ImportResult", "clients_import"]

# Kept on the package, not in `reading`: `reading` looks it up here for every file it
# reads, so the limit has one home that callers (and tests) can see and change.
MAX_ROWS = 50_000
