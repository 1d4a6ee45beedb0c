"""The sections of a client's own page. Each is a template and the context it needs;
another app adds its own (the sale of the business adds the objection to the transfer) by
calling `register` at start-up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    key: str
    template: str
    # (client, link, request) -> the template's context, or None to leave the section out.
    context: Callable[..., dict | None]
    order: int = 50


_sections: dict[str, Section] = {}


def register(section: Section) -> None:
    _sections[section.key] = section


def sections() -> list[Section]:
    return sorted(_sections.values(), key=lambda s: (s.order, s.key))
