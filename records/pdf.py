"""PDF documents in Chinese and English, with the fonts they need inside the project.

fpdf2 embeds a subset of each font used, so a PDF reads the same on any machine and the
server needs no system fonts. DejaVu Sans sets Latin text; glyphs it lacks (Chinese)
fall back to Droid Sans Fallback. See pdf_fonts/LICENSE.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from django.utils import timezone
from fpdf import FPDF

FONTS = Path(__file__).resolve().parent / "pdf_fonts"
BODY = "DejaVu"
WIDTH = 0  # a cell as wide as the page between the margins


class Document(FPDF):
    """An A4 page with a title, label/value rows and paragraphs; every line wraps."""

    def __init__(self, *, title: str, footer: str = "") -> None:
        super().__init__(format="A4")
        self._footer_text = footer
        self.add_font(BODY, "", FONTS / "DejaVuSans.ttf")
        self.add_font(BODY, "B", FONTS / "DejaVuSans-Bold.ttf")
        self.add_font("DroidSansFallback", "", FONTS / "DroidSansFallback.ttf")
        self.set_fallback_fonts(["DroidSansFallback"], exact_match=False)
        self.set_title(title)
        self.set_creator("Salon Vault")
        self.set_producer("Salon Vault")
        self.set_creation_date(timezone.now())
        self.set_auto_page_break(True, margin=18)
        self.set_margins(18, 18, 18)
        self.add_page()
        self.set_font(BODY, "B", 17)
        self.multi_cell(WIDTH, 9, title, new_x="LMARGIN", new_y="NEXT")
        self.ln(3)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(BODY, "", 8)
        self.set_text_color(110)
        self.cell(WIDTH, 5, f"{self._footer_text}   {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0)

    def heading(self, text: str) -> None:
        self.ln(3)
        self.set_font(BODY, "B", 12)
        self.multi_cell(WIDTH, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(200)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)

    def rows(self, rows: Iterable[tuple[str, object]], *, label_width: float = 52) -> None:
        """Label/value pairs, the value wrapping beside its label."""
        for label, value in rows:
            top = self.get_y()
            if top > self.h - 30:
                self.add_page()
                top = self.get_y()
            self.set_font(BODY, "B", 9.5)
            self.set_text_color(80)
            self.multi_cell(label_width, 5.5, label, new_x="LMARGIN", new_y="NEXT")
            label_bottom = self.get_y()
            self.set_xy(self.l_margin + label_width, top)
            self.set_font(BODY, "", 10)
            self.set_text_color(0)
            self.multi_cell(WIDTH, 5.5, _text(value), new_x="LMARGIN", new_y="NEXT", align="L")
            self.set_y(max(self.get_y(), label_bottom) + 1.2)

    def paragraph(self, text: str, *, size: float = 10, mono: bool = False) -> None:
        self.set_font(BODY, "", size)
        self.multi_cell(WIDTH, size * 0.5 + 0.6, text, new_x="LMARGIN", new_y="NEXT",
                        align="L", wrapmode="CHAR" if mono else "WORD")
        self.ln(1.5)

    def attach(self, name: str, data: bytes, description: str) -> None:
        """A file carried inside the PDF (shown as an attachment by PDF readers), stored
        uncompressed so that a reader with no PDF library can still find it."""
        self.embed_file(bytes=data, basename=name, desc=description,
                        mime_type="application/json" if name.endswith(".json") else None)

    def render(self) -> bytes:
        return bytes(self.output())


def _text(value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z")
    return str(value)
