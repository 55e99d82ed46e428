"""Where a copy may connect: https only (http on loopback), every redirect hop checked, public addresses
only unless allowed (checked on the address connected to), no proxy and no .netrc."""

from __future__ import annotations

import pytest

from airflow_provider_creatify.addresses import is_public_address
from airflow_provider_creatify.exceptions import CreatifyAssetCopyError
from airflow_provider_creatify.storage import MAX_REDIRECTS, copy_assets
from tests.helpers import LoopbackServer, file, redirect


def refused(url: str, folder, **kwargs) -> str:
    with pytest.raises(CreatifyAssetCopyError) as info:
        copy_assets([url], f"file://{folder}/", **{"allow_private_hosts": True, **kwargs})
    assert list(folder.iterdir()) == []  # nothing stored, not even a partial file
    return str(info.value)


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1:{port}/a.png", "file:///etc/passwd", "http://assets.example.com:{port}/a.png"],
    ids=["ftp", "file", "http-to-a-public-name"],
)
def test_only_https_and_plain_http_on_loopback(asset_server, names, tmp_path, url):
    names["assets.example.com"] = ["127.0.0.1"]  # were it fetched, it would reach the test's server
    asset_server.routes["/a.png"] = file(b"png")
    message = refused(url.format(port=asset_server.port), tmp_path)
    assert "only https URLs are fetched" in message
    assert asset_server.seen == []


def test_every_redirect_hop_is_checked(asset_server, names, tmp_path):
    names["internal.example.com"] = ["127.0.0.1"]
    hop = f"http://internal.example.com:{asset_server.port}/secret?token=abc"
    asset_server.routes["/start"] = redirect(hop)
    asset_server.routes["/secret?token=abc"] = file(b"internal data")

    message = refused(asset_server.url + "/start", tmp_path)

    assert asset_server.paths() == ["/start"]  # the hop was refused before any connection
    assert f"redirected to http://internal.example.com:{asset_server.port}/secret" in message
    assert "token" not in message


def test_redirects_relative_ones_included_are_followed_a_bounded_number_of_times(asset_server, tmp_path):
    asset_server.routes["/a/one"] = redirect("two", 301)  # relative to /a/
    asset_server.routes["/a/two"] = redirect("/b/three", 307)
    asset_server.routes["/b/three"] = file(b"the asset")
    asset_server.routes["/loop"] = redirect("/loop")

    (stored,) = copy_assets([asset_server.url + "/a/one"], f"file://{tmp_path}/", allow_private_hosts=True)

    assert (tmp_path / stored.rpartition("/")[2]).read_bytes() == b"the asset"
    assert f"more than {MAX_REDIRECTS} redirects" in refused(asset_server.url + "/loop", tmp_path / "loop")
    assert asset_server.paths().count("/loop") == MAX_REDIRECTS + 1


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_private_addresses_are_refused_unless_allowed(asset_server, tmp_path, monkeypatch, host):
    monkeypatch.delenv("AIRFLOW__CREATIFY__ALLOW_PRIVATE_HOSTS", raising=False)
    asset_server.routes["/a.png"] = file(b"png")
    url = f"http://{host}:{asset_server.port}/a.png"

    for allow in (False, None):  # None: [creatify] allow_private_hosts, off by default
        message = refused(url, tmp_path, allow_private_hosts=allow)
        assert "127.0.0.1, not a public address" in message and "allow_private_hosts" in message
    assert asset_server.seen == []

    monkeypatch.setenv("AIRFLOW__CREATIFY__ALLOW_PRIVATE_HOSTS", "True")
    assert len(copy_assets([url], f"file://{tmp_path}/", allow_private_hosts=None)) == 1
    assert asset_server.paths() == ["/a.png"]


def test_the_address_checked_is_the_address_connected_to(names, tmp_path, monkeypatch):
    """DNS rebinding: the name answers a "public" address to the check, then an internal one.

    127.0.0.2 stands in for a public address here (no traffic leaves the machine); a copy that looked the
    name up again to connect would reach the internal server on 127.0.0.1.
    """
    from airflow_provider_creatify import addresses

    monkeypatch.setattr(addresses, "is_public_address", lambda address: address == "127.0.0.2")
    with LoopbackServer(host="127.0.0.2") as public, LoopbackServer(port=public.port) as internal:
        public.routes["/a.png"] = file(b"public")
        internal.routes["/a.png"] = file(b"internal")
        names["localhost"] = ["127.0.0.2", "127.0.0.1"]  # the second answer, and any after, is internal

        (stored,) = copy_assets([f"http://localhost:{public.port}/a.png"], f"file://{tmp_path}/")

        assert (tmp_path / stored.rpartition("/")[2]).read_bytes() == b"public"
        assert internal.seen == []


def test_https_to_a_checked_address_still_verifies_the_host_name(names, tmp_path, monkeypatch):
    """The connection goes to the address checked, TLS still checks the certificate against the URL's name.

    127.0.0.1 stands in for a public address; the certificate names assets.test (and 127.0.0.1, so that
    a check against the address connected to would wrongly pass for other.test).
    """
    from airflow_provider_creatify import addresses
    from airflow_provider_creatify.sandbox.tls import write_self_signed_certificate

    monkeypatch.setattr(addresses, "is_public_address", lambda address: address == "127.0.0.1")
    certificate, key = write_self_signed_certificate(tmp_path, host="assets.test")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate))  # trusted, as requests itself would
    names["assets.test"] = names["other.test"] = ["127.0.0.1"]
    with LoopbackServer(tls=(certificate, key)) as server:
        server.routes["/a.png"] = file(b"over tls")

        (stored,) = copy_assets([f"https://assets.test:{server.port}/a.png"], f"file://{tmp_path}/out/")
        assert (tmp_path / "out" / stored.rpartition("/")[2]).read_bytes() == b"over tls"

        message = refused(
            f"https://other.test:{server.port}/a.png", tmp_path / "other", allow_private_hosts=False
        )
        assert "SSLError" in message and server.paths() == ["/a.png"]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.8",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # AWS, GCP, Azure metadata
        "169.254.170.2",  # ECS task metadata
        "100.100.100.200",  # Alibaba metadata
        "fd00:ec2::254",  # AWS metadata over IPv6
        "::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "2002:7f00:1::",  # 6to4 around 127.0.0.1
        "fe80::1%eth0",
        "0.0.0.0",
        "::",
        "224.0.0.1",
        "ff02::1",
        "240.0.0.1",
        "100.64.0.1",
        "not-an-address",
    ],
)
def test_private_reserved_and_metadata_addresses_are_not_public(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111", "::ffff:93.184.215.14"])
def test_global_addresses_are_public(address):
    assert is_public_address(address)


def test_no_proxy_and_no_netrc_credentials(asset_server, tmp_path, monkeypatch):
    with LoopbackServer() as proxy:
        netrc = tmp_path / "netrc"
        netrc.write_text("machine 127.0.0.1 login someone password netrc-secret\n")
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
            monkeypatch.setenv(name, proxy.url)
        monkeypatch.setenv("NETRC", str(netrc))
        asset_server.routes["/a.png"] = file(b"png")

        copy_assets([asset_server.url + "/a.png"], f"file://{tmp_path}/out/", allow_private_hosts=True)

        assert proxy.seen == []
        (request,) = asset_server.seen
        assert request.path == "/a.png" and "Authorization" not in request.headers
