"""One catalogue of audit actions and purposes (audit/actions.py), used by every caller.

A name typed anywhere else would drift from its label and its translation; these tests
read the product's source and fail on any such loose name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.utils import translation

from audit import actions

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("access", "audit", "records", "transfer", "vault", "salon_vault")
CATALOGUE = ROOT / "audit" / "actions.py"


def _sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts and path != CATALOGUE:
                yield path, ast.parse(path.read_text(), filename=str(path))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno}"


def test_no_action_or_purpose_name_is_typed_outside_the_catalogue():
    names = set(actions.ACTIONS) | set(actions.PURPOSES)
    loose = [f"{_where(path, node)} {node.value!r}" for path, tree in _sources()
             for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and node.value in names]
    assert loose == []


def _argparse(call: ast.Call) -> bool:
    return isinstance(call.func, ast.Attribute) and call.func.attr == "add_argument"


def test_actions_and_purposes_are_never_spelled_in_place():
    """`action=` and `purpose=` take a catalogue constant (or a variable holding one),
    never a string or an f-string made on the spot."""
    spelled = [f"{_where(path, node)} {kw.arg}=" for path, tree in _sources()
               for node in ast.walk(tree) if isinstance(node, ast.Call) and not _argparse(node)
               for kw in node.keywords
               if kw.arg in ("action", "purpose")
               and isinstance(kw.value, ast.Constant | ast.JoinedStr)
               and (not isinstance(kw.value, ast.Constant) or kw.value.value)]
    assert spelled == []


@pytest.mark.parametrize("table", ["ACTIONS", "PURPOSES"])
def test_every_label_reads_in_chinese_and_english(table):
    labels = getattr(actions, table)
    with translation.override("zh-hans"):
        chinese = {name: str(label) for name, label in labels.items()}
    with translation.override("en"):
        english = {name: str(label) for name, label in labels.items()}
    untranslated = [name for name in labels if chinese[name] == english[name]]
    assert untranslated == []
    assert len(set(chinese.values())) == len(chinese)  # no two read the same


def test_an_unknown_name_shows_as_itself():
    assert actions.action_label("made.up") == "made.up"
    with translation.override("en"):
        assert actions.action_label(actions.CLIENT_OPEN) == "Opened a client record"
