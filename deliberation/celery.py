import os
import uuid
from queue import Empty
from time import monotonic

from celery import Celery
from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads
from kombu.utils.objects import cached_property

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deliberation.settings")


class FilesystemChannel(filesystem.Channel):
    """kombu's filesystem channel, with each message file written and taken atomically.

    kombu creates a message file in the queue folder and then writes it, so a worker
    listing the folder in between reads an empty message and stops with a
    JSONDecodeError, and the message is gone (celery/kombu#1551). It takes a message
    by moving it to the system's temporary folder, which on another file system is a
    copy that two workers can both make. Here a message is written under a name no
    queue matches and renamed into place, and taken by renaming it into
    ``processed_folder`` beside the queue: a rename is atomic, so a message is seen
    whole, by one worker.
    """

    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        partial = os.path.join(self.data_folder_out, f".partial-{name}")
        try:
            with open(partial, "wb") as out:
                out.write(str_to_bytes(dumps(payload)))
            os.replace(partial, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"Cannot add {name!r} to the queue folder") from exc

    def _get(self, queue):
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            taken = os.path.join(self._taken_folder, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), taken)
            except FileNotFoundError:
                continue  # another worker took it
            with open(taken, "rb") as message:
                payload = message.read()
            if not self.store_processed:
                os.remove(taken)
            return loads(bytes_to_str(payload))
        raise Empty()

    @cached_property
    def _taken_folder(self) -> str:
        os.makedirs(self.processed_folder, exist_ok=True)
        return self.processed_folder


class FilesystemTransport(filesystem.Transport):
    Channel = FilesystemChannel


app = Celery("deliberation")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
