"""The default storage on an S3-compatible object store: what the settings build from the
``S3_*`` variables, and what the tests build for their own SeaweedFS, alike."""

from __future__ import annotations


def s3_storage(
    *,
    endpoint_url: str,
    bucket: str,
    access_key: str,
    secret_key: str,
    region: str,
    expire: int = 60,
    location: str = "",
) -> dict:
    """STORAGES["default"] for a private bucket: no public ACL, signed URLs only."""
    from botocore.config import Config

    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "endpoint_url": endpoint_url,
            "bucket_name": bucket,
            "location": location,
            "access_key": access_key,
            "secret_key": secret_key,
            "region_name": region,
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": expire,
            "file_overwrite": False,
            "addressing_style": "path",
            "signature_version": "s3v4",
            # A store that does not answer fails an upload in seconds (the member is asked
            # to try the photo again), not after botocore's minute-long default.
            # (A client_config replaces storages' own, so it says the addressing style too.)
            "client_config": Config(
                s3={"addressing_style": "path"},
                signature_version="s3v4",
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        },
    }
