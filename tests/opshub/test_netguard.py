"""The outbound address policy: only http(s) to public addresses, however they are written."""

import ipaddress

import pytest

from opshub.lib import netguard

INTERNAL = [
    "http://127.0.0.1:5432/",
    "http://127.1/",
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://0x7f000001/",
    "http://127.0.0.1./",
    "http://0.0.0.0/",
    "http://0/",
    "http://10.0.0.8/",
    "http://172.16.4.1/",
    "http://192.168.1.1:8080/admin",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://100.64.0.1/",  # shared address space (CGNAT)
    "http://224.0.0.1/",  # multicast
    "http://239.255.255.250:1900/",
    "http://240.0.0.1/",  # reserved
    "http://255.255.255.255/",
    "http://[::1]/",
    "http://[::]/",
    "http://[fe80::1%25eth0]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[ff02::1]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[2002:7f00:1::]/",  # 6to4 around 127.0.0.1
    "http://[64:ff9b::a00:1]/",  # NAT64 around 10.0.0.1
    "https://[::ffff:169.254.169.254]/",
]


@pytest.mark.parametrize("url", INTERNAL)
def test_a_url_naming_an_internal_address_is_refused(url):
    with pytest.raises(netguard.TargetRefused, match="internal|valid address"):
        netguard.check_url(url)


@pytest.mark.parametrize(
    "url", ["ftp://files.example.com/", "file:///etc/passwd", "gopher://x/", "javascript:1", "//x/"]
)
def test_only_http_and_https_are_allowed(url):
    with pytest.raises(netguard.TargetRefused):
        netguard.check_url(url, allow_private=True)


@pytest.mark.parametrize("url", ["http://1.2.3.999/", "http://09.0.0.1/"])
def test_a_numeric_host_that_is_no_address_is_refused(url):
    with pytest.raises(netguard.TargetRefused, match="valid address"):
        netguard.check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/opshub",
        "http://erp.internal-name.example:8080/in",  # names are checked when sending
        "http://93.184.215.14/",
        "https://[2606:4700:4700::1111]/",
    ],
)
def test_public_addresses_and_host_names_are_accepted_when_saved(url):
    netguard.check_url(url)


def test_allow_private_lets_internal_addresses_through():
    for url in INTERNAL:
        netguard.check_url(url, allow_private=True)


@pytest.mark.parametrize("text", ["127.0.0.1", "::1", "::ffff:10.1.2.3", "100.64.1.1", "ff0e::1"])
def test_is_public_refuses_internal_ranges(text):
    assert not netguard.is_public(ipaddress.ip_address(text))


def test_a_host_name_resolving_to_loopback_is_refused_when_sending():
    with pytest.raises(netguard.TargetRefused, match="internal"):
        netguard.resolve("http://localhost:5432/")
    answer = netguard.post("http://localhost:5432/", b"{}", {}, timeout=2)
    assert answer == (None, netguard.REFUSED)
