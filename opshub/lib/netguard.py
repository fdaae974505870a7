"""Where outbound HTTP may go: the address policy of webhooks (and of any later sender).

A URL a user typed must not turn opshub into a scanner of its own network. Only http and
https are allowed, and the host must be a public address: loopback, private, link-local,
shared (CGNAT), multicast, reserved and unspecified ranges are refused, in IPv4 and IPv6,
including IPv4 written as one number, in octal or hex (`http://2130706433/`,
`http://0x7f.1/`) and IPv4 inside IPv6 (`::ffff:127.0.0.1`, 6to4, NAT64).

Two checks: `check_url` when a URL is saved (literal addresses only, no DNS), and `post`
when sending, which resolves the name, refuses if any address is not public, connects to
the address it checked (a second lookup could answer differently: DNS rebinding), and
follows at most MAX_REDIRECTS redirects itself, checking each new target the same way.

`allow_private=True` (a setting, for a receiver on the same host or network) skips the
address check; the scheme check stays.
"""

import http.client
import ipaddress
import re
import socket
import ssl
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

SCHEMES = {"http": 80, "https": 443}
MAX_REDIRECTS = 3
REDIRECTS = {301, 302, 303, 307, 308}
# The delivery log says only this for a refused target: which address or port was tried,
# and whether it answered, is what a scan wants to learn.
REFUSED = "target address not allowed"

# What inet_aton reads as IPv4: one to four dot-separated decimal, octal or hex parts.
_NUMERIC_HOST = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}", re.I | re.A)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class TargetRefused(ValueError):
    """The URL may not be called; the message says why, in words fit for the person who
    typed it (the delivery log uses REFUSED instead)."""


def is_public(address):
    """True when `address` (an ipaddress object) is a unicast address on the internet."""
    if address.version == 6:
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is None and address.teredo:
            embedded = address.teredo[1]
        if embedded is not None and not is_public(embedded):
            return False
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


def literal_address(host):
    """The address `host` spells (any IPv4 form inet_aton reads, or IPv6), or None for a name.

    Raises TargetRefused for a host that looks numeric but is no address ("1.2.3.999").
    """
    host = host.rstrip(".")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise TargetRefused("The host is neither a name nor a valid address.") from None
    return None


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


def _parts(url):
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("Enter a valid URL.") from None
    if parts.scheme.lower() not in SCHEMES:
        raise TargetRefused("Only http:// and https:// URLs are allowed.")
    if not parts.hostname:
        raise TargetRefused("The URL has no host.")
    return parts, port or SCHEMES[parts.scheme.lower()]


def check_url(url, *, allow_private=False):
    """Refuses (TargetRefused) a URL that is not http(s) or names a non-public address."""
    parts, _ = _parts(url)
    address = literal_address(parts.hostname)
    if address is not None and not allow_private and not is_public(address):
        raise TargetRefused(
            "This address is internal (loopback, private, link-local, multicast or "
            "reserved); webhooks may only call public addresses."
        )


def resolve(url, *, allow_private=False):
    """The Target to connect to: the URL checked, its host resolved, every address checked."""
    check_url(url, allow_private=allow_private)
    parts, port = _parts(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise TargetRefused("The host name does not resolve.") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    if not addresses or not (allow_private or all(map(is_public, addresses))):
        raise TargetRefused("The host name resolves to an internal address.")
    path = parts.path or "/"
    return Target(
        scheme=parts.scheme.lower(),
        host=parts.hostname,
        port=port,
        path=f"{path}?{parts.query}" if parts.query else path,
        address=str(addresses[0]),
    )


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target, timeout):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """Connects to the checked address; the certificate is verified against the host name."""

    def __init__(self, target, timeout):
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self._address = target.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class Answer(NamedTuple):
    status: int | None  # None: no HTTP answer (refused target, network error)
    error: str  # "" on a 2xx answer


def post(url, body, headers, *, timeout, allow_private=False):
    """POSTs `body` to `url`, following up to MAX_REDIRECTS redirects (the same POST again,
    each new target checked like the first). Never raises for network trouble."""
    for _ in range(MAX_REDIRECTS + 1):
        try:
            target = resolve(url, allow_private=allow_private)
        except TargetRefused:
            return Answer(None, REFUSED)
        kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
        connection = kind(target, timeout)
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            response = connection.getresponse()
            status, reason = response.status, response.reason
            location = response.getheader("Location")
        except (OSError, http.client.HTTPException) as exc:
            return Answer(None, (str(exc) or type(exc).__name__)[:500])
        finally:
            connection.close()
        if status in REDIRECTS and location:
            url = urljoin(url, location)
            continue
        return Answer(status, "" if 200 <= status < 300 else f"HTTP {status} {reason}"[:500])
    return Answer(None, f"More than {MAX_REDIRECTS} redirects.")
