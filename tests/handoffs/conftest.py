"""Fixtures of the handoffs tests: a real HTTP receiver in the test process for Apprise's
json:// posts to 127.0.0.1 (`chat_receiver`)."""

import http.server
import json
import threading

import pytest


class Receiver(http.server.ThreadingHTTPServer):
    def __init__(self, status=200):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status, self.posts = status, []

    def url(self, path):
        return f"json://127.0.0.1:{self.server_address[1]}/{path}"

    def messages(self, path):
        return [body for at, body in self.posts if at == f"/{path}"]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.posts.append((self.path, json.loads(body)))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def chat_receiver(settings):
    settings.OPSHUB_WEBHOOK_ALLOW_PRIVATE = True
    server = Receiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()
