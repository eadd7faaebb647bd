"""Photos from phones: checked by decoding them, re-encoded small, with no EXIF.

The browser already shrinks a photo before upload; the server does not trust
that. It decodes the file (never trusting its name or content type), applies the
camera's orientation, drops every metadata block (GPS positions are personal
information under PIPL art. 28), and stores a JPEG of at most 1600 px.
"""

from __future__ import annotations

import io
import uuid

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 15 * 1024 * 1024
MAX_SIDE = 1600
MAX_PHOTOS = 6
JPEG_QUALITY = 78
# Refuse decompression bombs: a small file that decodes to gigabytes of pixels.
Image.MAX_IMAGE_PIXELS = 50_000_000
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "MPO", "HEIF"}


def process(upload: UploadedFile) -> ContentFile:
    """A clean JPEG from an uploaded image, or ValidationError with a message for people."""
    if upload.size and upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("“%(name)s” is larger than 15 MB. Please choose a smaller photo.")
            % {"name": upload.name},
            code="too_large",
        )
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            kind = probe.format
            probe.verify()  # catches truncated and corrupt files
        upload.seek(0)
        with Image.open(upload) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode not in ("RGB", "L"):
                image = _flatten(image)
            image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            image.convert("RGB").save(
                out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True
            )
    except Image.DecompressionBombError as error:
        raise ValidationError(
            _("“%(name)s” has too many pixels to be a photo.") % {"name": upload.name},
            code="too_many_pixels",
        ) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ValidationError(
            _("“%(name)s” is not a photo we can read. Please choose a JPEG or PNG image.")
            % {"name": upload.name},
            code="not_an_image",
        ) from error
    if kind not in ACCEPTED_FORMATS:
        raise ValidationError(
            _("“%(name)s” is not a photo we can read. Please choose a JPEG or PNG image.")
            % {"name": upload.name},
            code="not_an_image",
        )
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.jpg")


def _flatten(image: Image.Image) -> Image.Image:
    """Transparent images get a white background instead of black."""
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background
