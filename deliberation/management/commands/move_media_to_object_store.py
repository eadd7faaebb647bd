"""Copy the files kept under MEDIA_ROOT into the object store, verified, switching nothing.

Run it with the S3_* settings in this command's environment only:

    S3_ENDPOINT_URL=… S3_BUCKET=… S3_ACCESS_KEY_ID=… S3_SECRET_ACCESS_KEY=… \\
        python manage.py move_media_to_object_store

Once every file is verified it prints the settings to give the web processes and workers;
until then they go on reading the local disk. Running it again copies only what is missing.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError

from common.media_move import media_move


class Command(BaseCommand):
    help = "Copy local media into the S3 object store, verify each file, then say what to set."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--from", dest="source", default=str(settings.MEDIA_ROOT),
            help="the local folder to copy (default: MEDIA_ROOT)",
        )  # fmt: skip

    def handle(self, *args, source: str, **options) -> None:
        storage = storages["default"]
        if not hasattr(storage, "bucket"):
            raise CommandError(
                "No object store: run this command with S3_ENDPOINT_URL and S3_BUCKET "
                "(and S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_REGION) in its environment."
            )
        root = Path(source)
        result = media_move(root=root, storage=storage, log=self.stdout.write)
        self.stdout.write(
            f"{len(result.copied)} copied, {len(result.already_there)} already in the store, "
            f"{len(result.failed)} failed (from {root} to bucket {storage.bucket_name})."
        )
        if result.failed:
            for name, why in result.failed:
                self.stderr.write(f"not verified: {name}: {why}")
            raise CommandError(
                "Some files are not in the object store yet: nothing was switched. "
                "Run the command again; it copies only what is missing."
            )
        options_ = storage.endpoint_url, storage.bucket_name
        self.stdout.write(
            self.style.SUCCESS(f"All {result.verified} files are in the object store, verified.")
        )
        self.stdout.write(
            "To switch, give the web processes and the workers these settings and restart them:\n"
            f"  S3_ENDPOINT_URL={options_[0]}\n  S3_BUCKET={options_[1]}\n"
            "  S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_REGION as for this command"
        )
