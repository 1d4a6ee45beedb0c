"""QR codes drawn as inline SVG (no image files, no script), for links and authenticator keys."""

from __future__ import annotations

import segno


def qr_svg(text: str) -> str:
    """An SVG QR code of `text` that scales with its box (a viewBox, no fixed size)."""
    return segno.make(text, error="m").svg_inline(scale=4, omitsize=True, svgclass="qr-code",
                                                  lineclass=None)
