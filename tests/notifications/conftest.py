"""Fixtures for the notification tests: a scripted local HTTP provider, quiet time."""

import datetime
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine

from notifications import backends

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
# A Monday at 10:00 in Shanghai: outside quiet hours.
DAYTIME = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


class FakeProvider:
    """An HTTP server on 127.0.0.1 that answers from a script and records requests.

    `answers` is a list of (status, body-dict) popped per request; when it runs out,
    `default` answers.
    """

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict]] = []
        self.default: tuple[int, dict] = (200, {})
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, body: bytes) -> None:
                url = urllib.parse.urlsplit(self.path)
                provider.requests.append(
                    {
                        "method": self.command,
                        "path": url.path,
                        "query": dict(urllib.parse.parse_qsl(url.query)),
                        "headers": dict(self.headers),
                        "body": body,
                    }
                )
                status, payload = provider.answers.pop(0) if provider.answers else provider.default
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def do_GET(self) -> None:
                self._answer(b"")

            def do_POST(self) -> None:
                self._answer(self.rfile.read(int(self.headers.get("Content-Length", 0))))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def json(self, index: int = -1) -> dict:
        return json.loads(self.requests[index]["body"])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider():
    fake = FakeProvider()
    yield fake
    fake.close()


@pytest.fixture
def daytime():
    with time_machine.travel(DAYTIME, tick=False) as traveller:
        yield traveller


@pytest.fixture
def sms_outbox(settings):
    settings.YUYUE_SMS_BACKEND = "locmem"
    backends.LocmemSMSBackend.outbox = []
    yield backends.LocmemSMSBackend.outbox
    backends.LocmemSMSBackend.outbox = []
