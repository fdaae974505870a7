"""Chat and push channels through Apprise: one URL per channel, one notice per send.

A channel URL is an Apprise URL (https://github.com/caronc/apprise/wiki). opshub accepts
the schemes in SCHEMES only: services whose requests go over HTTP(S) to the vendor's own
public host, or to a host named in the URL (a self-hosted Mattermost, Matrix or ntfy, a
generic JSON receiver). Schemes that act on this machine (desktop, syslog) or open other
protocols (email, MQTT, XMPP) are refused: a channel must not become a way to reach
anything the server can reach.

For the schemes whose URL names the host, every address the host resolves to must be
public (netguard's policy, the same as webhooks') unless OPSHUB_WEBHOOK_ALLOW_PRIVATE is
on, checked when the URL is saved and again right before each send, and redirects are not
followed. Apprise opens its own connection after the check, so unlike webhooks a channel
is not pinned to the checked address: a host whose DNS answer changes between the check
and the send (rebinding) could still reach an internal address.

The URL is a secret (it carries the webhook token): pages and the API show `masked(url)`
after creation.
"""

import logging
from urllib.parse import urlsplit

import apprise
from django.conf import settings

from opshub.lib import netguard

# scheme: what the user sees it as.
SCHEMES = {
    "json": "JSON webhook",
    "jsons": "JSON webhook",
    "slack": "Slack",
    "workflow": "Microsoft Teams (Workflows)",
    "workflows": "Microsoft Teams (Workflows)",
    "mmost": "Mattermost",
    "mmosts": "Mattermost",
    "matrix": "Matrix",
    "matrixs": "Matrix",
    "discord": "Discord",
    "tgram": "Telegram",
    "ntfy": "ntfy",
    "ntfys": "ntfy",
    "gchat": "Google Chat",
    "zulip": "Zulip",
}
# Schemes whose URL host is where the request goes (the others post to the vendor's host).
HOST_IN_URL = {"json", "jsons", "workflow", "workflows", "mmost", "mmosts", "matrix", "matrixs"}
HOST_IN_URL |= {"ntfy", "ntfys"}
TIMEOUT_SECONDS = 5.0
BODY_LIMIT = 4000


class ChannelError(ValueError):
    """The URL cannot be used (unsupported, unreadable, or aimed at a private address)."""


class DeliveryFailed(Exception):
    """The service did not take the notice; the outbox retries it later."""


def label(url):
    """'Slack', 'Mattermost'… for a channel URL; '' when the scheme is not supported."""
    return SCHEMES.get(_scheme(url), "")


def masked(url):
    """The URL as pages show it after creation: scheme, host, and the last 4 characters."""
    scheme = _scheme(url)
    host = urlsplit(url).hostname if scheme in HOST_IN_URL else ""
    tail = url[-4:] if len(url) > 16 else ""
    return f"{scheme}://{host + '/' if host else ''}…{tail}"


def check_url(url):
    """Raises ChannelError with the reason when opshub will not send to `url`."""
    _plugin(url)


def send(url, *, title, body):
    """Posts one notice. Raises ChannelError (refused) or DeliveryFailed (try again)."""
    plugin = _plugin(url)
    notifier = apprise.Apprise()
    notifier.add(plugin)
    with apprise.LogCapture(level=logging.WARNING) as log:
        delivered = notifier.notify(
            title=title[:250], body=body[:BODY_LIMIT], body_format=apprise.NotifyFormat.TEXT
        )
    if not delivered:
        raise DeliveryFailed(log.getvalue().strip()[-2000:] or "The service refused the notice.")


def _scheme(url):
    return (url or "").split("://", 1)[0].lower() if "://" in (url or "") else ""


def _plugin(url):
    scheme = _scheme(url)
    if scheme not in SCHEMES:
        names = ", ".join(sorted({f"{name} ({key}://)" for key, name in SCHEMES.items()}))
        raise ChannelError(f"Use an Apprise URL for one of: {names}.")
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        raise ChannelError(f"This {SCHEMES[scheme]} URL is incomplete or malformed.")
    if scheme in HOST_IN_URL:
        _check_host(urlsplit(url).hostname, urlsplit(url).port)
    plugin.redirects = False
    plugin.socket_connect_timeout = plugin.socket_read_timeout = TIMEOUT_SECONDS
    return plugin


def _check_host(host, port):
    """The address policy of webhooks (opshub.lib.netguard), applied to the channel's host."""
    if not host:
        raise ChannelError("The URL names no host.")
    try:
        netguard.resolve(
            f"https://{host}:{port or 443}/",
            allow_private=settings.OPSHUB_WEBHOOK_ALLOW_PRIVATE,
        )
    except netguard.TargetRefused as exc:
        raise ChannelError(
            f"{exc} Channels may only call public addresses; an administrator can allow "
            "internal ones with OPSHUB_WEBHOOK_ALLOW_PRIVATE."
        ) from None
