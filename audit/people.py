"""How the audit pages name people: by the display name the staff pages use.

Audit knows nothing of staff profiles; the app that does registers a namer at start-up
(`access.apps`). Events keep the username they were recorded with (it is in the chain);
the name is only how a page shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

Namer = Callable[[Iterable[int]], dict[int, str]]
_namers: list[Namer] = []


def register(namer: Namer) -> None:
    if namer not in _namers:
        _namers.append(namer)


def names(ids: Iterable[int | None]) -> dict[int, str]:
    """Display names of the given user ids; ids nobody can name are left out."""
    wanted = {i for i in ids if i is not None}
    found: dict[int, str] = {}
    for namer in _namers:
        if wanted - found.keys():
            found.update(namer(wanted - found.keys()))
    return found


def name_rows(rows: Iterable, *, id_attr: str = "actor_id", label_attr: str = "actor_label"):
    """Give each row (event or alert) a `person` attribute: display name, else its label."""
    rows = list(rows)
    known = names(getattr(r, id_attr) for r in rows)
    for row in rows:
        row.person = known.get(getattr(row, id_attr)) or getattr(row, label_attr)
    return rows
