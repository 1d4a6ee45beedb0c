"""The demo salon: two branches, demo staff, and deterministic zh_CN client records.

`demo_rows` turns a seed into plaintext rows and touches nothing else, so the same seed
always gives the same people (and the same UUIDs). `seed_demo` writes them through the
vault in batches: each batch is opened by the door for the system actor `seed_demo`, gets
its data keys in one write, and is inserted with `bulk_create` in one transaction per
database, so a crash leaves whole batches and never rows without keys.

The package, by topic: `vocabulary` (branches, staff, services and the words the rows
draw from), `rows` (the pure generator `demo_rows`), `files` (demo photos and consent
PDFs), `staff` (demo users, their password, gates and recovery codes) and `load`
(`seed_demo` and its batch writing).
"""

from __future__ import annotations

from .files import demo_jpeg, demo_pdf
from .load import seed_demo
from .rows import ClientRow, demo_rows
from .staff import (
    DemoLogin,
    DemoPassword,
    demo_logins,
    demo_password,
    demo_recovery_codes,
    salon_has_data,
)
from .vocabulary import LOCATIONS

__all__ = [
    "LOCATIONS",
    "ClientRow",
    "DemoLogin",
    "DemoPassword",
    "demo_jpeg",
    "demo_logins",
    "demo_password",
    "demo_pdf",
    "demo_recovery_codes",
    "demo_rows",
    "salon_has_data",
    "seed_demo",
]
