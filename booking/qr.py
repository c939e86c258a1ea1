"""QR codes as inline SVG (segno), drawn on the server: no script, no image request.

The SVG is an image with a text alternative; pages print the encoded text next to it
too, for people who can't scan it. Colours are presentation attributes (not inline
styles), so the strict Content-Security-Policy holds.
"""

from __future__ import annotations

import io

import segno
from markupsafe import Markup, escape

ERROR_LEVEL = "m"  # segno raises it to the best level that fits the same size


def qr_svg(data: str, label: str, *, scale: int = 4, css_class: str = "qr") -> Markup:
    """``data`` as a QR code: an ``<svg role="img">`` named ``label``."""
    svg = segno.make(data, error=ERROR_LEVEL, micro=False).svg_inline(
        scale=scale, svgclass=css_class, omitsize=True, dark="#000", light="#fff")
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" '
                                       f'focusable="false" ', 1))


def qr_png(data: str, *, scale: int = 6) -> bytes:
    """``data`` as a QR code in PNG, for emails (mail programs don't show inline SVG)."""
    out = io.BytesIO()
    segno.make(data, error=ERROR_LEVEL, micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
