"""QR codes as inline SVG: no image file, no script, no CDN, printable and offline."""

import qrcode
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from qrcode.image.svg import SvgPathImage


def qr_svg(text: str, *, css_class: str = "", label: str = "") -> SafeString:
    """`text` as an `<svg>` element. `label` (escaped here) tells a screen reader what
    it is (role img); without one the caller labels a wrapper. Size comes from CSS."""
    svg = qrcode.make(text, image_factory=SvgPathImage, border=2).to_string(encoding="unicode")
    attributes = f'class="{escape(css_class)}" ' if css_class else ""
    if label:
        attributes += f'role="img" aria-label="{escape(label)}" '
    return mark_safe(svg.replace("<svg ", f"<svg {attributes}", 1))  # noqa: S308 - escaped
