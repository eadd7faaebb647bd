"""A small HTTP reverse proxy, run as its own process: the real hop in front of the app.

``python -m tests.helpers.forwarding_proxy LISTEN_PORT UPSTREAM_PORT SOURCE_ADDRESS``
listens on 127.0.0.1, connects to the app on 127.0.0.1:UPSTREAM_PORT from
SOURCE_ADDRESS (e.g. 127.0.0.2, so that the app sees the proxy's own address), and
appends the client's address to X-Forwarded-For the way nginx's
``$proxy_add_x_forwarded_for`` does.
"""

from __future__ import annotations

import http.client
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection"}


def handler(upstream_port: int, source: str) -> type[BaseHTTPRequestHandler]:
    class Forward(BaseHTTPRequestHandler):
        def forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            earlier = self.headers.get("X-Forwarded-For")
            client = self.client_address[0]
            headers["X-Forwarded-For"] = f"{earlier}, {client}" if earlier else client
            upstream = http.client.HTTPConnection(
                "127.0.0.1", upstream_port, source_address=(source, 0), timeout=30
            )
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            content = answer.read()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in HOP_BY_HOP | {"content-length"}:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
            upstream.close()

        do_GET = do_POST = forward

        def log_message(self, *args) -> None:
            pass

    return Forward


if __name__ == "__main__":
    listen, upstream, source = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    ThreadingHTTPServer(("127.0.0.1", listen), handler(upstream, source)).serve_forever()
