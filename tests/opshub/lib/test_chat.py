"""Chat channels through Apprise, posted to a real HTTP(S) receiver on 127.0.0.1."""

import http.server
import json
import ssl
import subprocess
import threading

import pytest
from apprise.plugins.slack import NotifySlack

from opshub.lib import chat


class Receiver(http.server.ThreadingHTTPServer):
    """Answers every POST with `status` and keeps (path, headers, parsed body)."""

    def __init__(self, status=200, reply=b"{}"):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = status
        self.reply = reply
        self.requests = []

    @property
    def port(self):
        return self.server_address[1]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode()
        self.server.requests.append((self.path, dict(self.headers), body))
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.server.reply)

    def log_message(self, *args):
        pass


def _serve(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture
def receiver():
    server = _serve(Receiver())
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def tls_receiver(tmp_path):
    """The same receiver over HTTPS with a throwaway self-signed certificate."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    server = Receiver()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    _serve(server)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def allow_private(settings):
    settings.OPSHUB_WEBHOOK_ALLOW_PRIVATE = True


def test_a_json_channel_receives_the_title_and_body(receiver, allow_private):
    chat.send(f"json://127.0.0.1:{receiver.port}/hook", title="Stalled: Order 42", body="Open it")
    [(path, headers, body)] = receiver.requests
    assert path == "/hook"
    assert headers["Content-Type"].startswith("application/json")
    assert body["title"] == "Stalled: Order 42"
    assert body["message"] == "Open it"


def test_a_slack_channel_posts_slacks_webhook_format(receiver, allow_private, monkeypatch):
    receiver.reply = b"ok"  # what Slack's incoming webhooks answer
    # Slack's hooks host is fixed in the plugin; point it at the receiver, keep its payload.
    monkeypatch.setattr(NotifySlack, "webhook_url", f"http://127.0.0.1:{receiver.port}/services")
    url = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7aB/"
    chat.send(url, title="Escalated: Order 42", body="Sofia, this waits for you.")
    [(path, _, body)] = receiver.requests
    assert path == "/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7aB"
    text = json.dumps(body)
    assert "Escalated: Order 42" in text
    assert "Sofia, this waits for you." in text


def test_a_teams_workflow_channel_posts_an_adaptive_card(tls_receiver, allow_private):
    url = f"workflows://127.0.0.1:{tls_receiver.port}/abc123/sigXYZ/?verify=no"
    chat.send(url, title="Waiting for Fulfilment", body="Accept or bounce it.")
    [(path, _, body)] = tls_receiver.requests
    assert path.startswith("/workflows/abc123/triggers/manual/paths/invoke")
    assert "sig=sigXYZ" in path
    card = body["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard"
    assert "Waiting for Fulfilment" in json.dumps(card)


def test_a_refusing_service_is_a_failed_delivery_to_retry(allow_private):
    server = _serve(Receiver(status=500))
    try:
        with pytest.raises(chat.DeliveryFailed):
            chat.send(f"json://127.0.0.1:{server.port}/", title="t", body="b")
        assert len(server.requests) == 1
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "url",
    [
        "json://127.0.0.1:9/hook",
        "jsons://10.1.2.3/hook",
        "mmost://192.168.0.10/token",
        "json://[::1]:8080/",
        "json://169.254.169.254/latest/meta-data",
        "json://localhost/hook",
        "json://2130706433/hook",
    ],
)
def test_private_and_loopback_targets_are_refused_by_default(url, settings):
    settings.OPSHUB_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(chat.ChannelError, match="internal"):
        chat.check_url(url)


def test_a_refused_target_is_never_contacted(receiver, settings):
    settings.OPSHUB_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(chat.ChannelError):
        chat.send(f"json://127.0.0.1:{receiver.port}/hook", title="t", body="b")
    assert receiver.requests == []


def test_a_redirect_to_elsewhere_is_not_followed(allow_private, receiver):
    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{receiver.port}/inner")
            self.end_headers()

        def log_message(self, *args):
            pass

    outer = _serve(http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect))
    try:
        with pytest.raises(chat.DeliveryFailed):
            chat.send(f"json://127.0.0.1:{outer.server_address[1]}/", title="t", body="b")
    finally:
        outer.shutdown()
        outer.server_close()
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mailto://someone@example.com", "Use an Apprise URL"),
        ("syslog://", "Use an Apprise URL"),
        ("https://example.com/hook", "Use an Apprise URL"),
        ("not a url", "Use an Apprise URL"),
        ("slack://", "incomplete or malformed"),
    ],
)
def test_unsupported_or_malformed_urls_are_refused_with_a_reason(url, message):
    with pytest.raises(chat.ChannelError, match=message):
        chat.check_url(url)


def test_a_public_vendor_host_passes_without_a_lookup(settings):
    settings.OPSHUB_WEBHOOK_ALLOW_PRIVATE = False
    chat.check_url("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7aB/")
    chat.check_url("json://93.184.215.14/hook")


def test_the_masked_url_hides_the_token():
    url = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7aB/"
    assert "TIiajkdn" not in chat.masked(url)
    assert chat.masked(url).startswith("slack://")
    assert chat.masked("mmosts://chat.example.com/abcdefghijklmnop").startswith(
        "mmosts://chat.example.com/"
    )
    assert chat.label("mmosts://chat.example.com/x") == "Mattermost"
