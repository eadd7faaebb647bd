"""PDF from HTML rendered here, with WeasyPrint; nothing is fetched (no network, no files),
so text typed into a page cannot make the server load anything."""

from __future__ import annotations

from typing import Any


def _html(html: str) -> Any:
    from PIL import ImageFile

    truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # Importing WeasyPrint turns on Pillow's process-wide LOAD_TRUNCATED_IMAGES, after which
    # issues.photos would take a truncated upload for a photo: put it back.
    ImageFile.LOAD_TRUNCATED_IMAGES = truncated

    # An empty list of allowed protocols refuses every fetch.
    fetcher = URLFetcher(allowed_protocols=())
    return HTML(string=html, url_fetcher=fetcher)


def pdf_from_html(html: str) -> bytes:
    """A PDF of a page rendered here; nothing is fetched (no network, no files)."""
    return _html(html).write_pdf()


def document_from_html(html: str) -> Any:
    """WeasyPrint's laid-out document of ``html`` (its ``pages``), as ``pdf_from_html`` sets it."""
    return _html(html).render()
