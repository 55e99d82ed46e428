"""Copies through an egress proxy: only when asked (the connection's ``proxy`` extra), and since the proxy
resolves and connects, each host name is checked instead of the address connected to."""

from __future__ import annotations

import json

import pytest

from airflow_provider_creatify import addresses
from airflow_provider_creatify.exceptions import CreatifyAssetCopyError, CreatifyAssetRefusedError
from airflow_provider_creatify.operators.copy import CreatifyCopyAssetsOperator
from airflow_provider_creatify.storage import copy_assets
from tests.helpers import ConnectProxy, LoopbackServer, file, redirect


@pytest.fixture
def assets_test(names, tmp_path, monkeypatch):
    """An https asset host named assets.test (at 127.0.0.1, which stands in for a public address)."""
    from airflow_provider_creatify.sandbox.tls import write_self_signed_certificate

    monkeypatch.setattr(addresses, "is_public_address", lambda address: address == "127.0.0.1")
    certificate, key = write_self_signed_certificate(tmp_path, host="assets.test")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate))
    names["assets.test"] = ["127.0.0.1"]
    with LoopbackServer(tls=(certificate, key)) as server:
        server.routes["/a.png"] = file(b"through the proxy")
        yield server


def test_the_copy_operator_goes_through_its_connection_proxy(assets_test, tmp_path, monkeypatch):
    with ConnectProxy() as proxy:
        fields = {"conn_type": "creatify", "login": "id", "password": "key", "extra": {"proxy": proxy.url}}
        monkeypatch.setenv("AIRFLOW_CONN_CREATIFY_EGRESS", json.dumps(fields))
        task = CreatifyCopyAssetsOperator(
            task_id="store",
            asset_urls=[f"https://assets.test:{assets_test.port}/a.png"],
            destination=f"{tmp_path}/out/",
            allow_private_hosts=False,
            creatify_conn_id="creatify_egress",
        )

        (stored,) = task.execute({})

        assert (tmp_path / "out" / stored.rpartition("/")[2]).read_bytes() == b"through the proxy"
        assert proxy.tunnels == [("assets.test", assets_test.port)]  # the proxy resolved the name


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("10.0.0.8", "10.0.0.8"),
        ("[::1]", "::1"),
        ("localhost", "127.0.0.1"),
        ("metadata.test", "169.254.169.254"),  # a name that resolves here to a metadata address
    ],
)
def test_through_a_proxy_a_host_name_that_is_not_public_is_refused(names, tmp_path, host, address):
    names["metadata.test"] = ["169.254.169.254"]
    with ConnectProxy() as proxy:
        with pytest.raises(CreatifyAssetRefusedError, match="not a public address") as err:
            copy_assets(
                [f"https://{host}/a.png"], f"{tmp_path}/out/", allow_private_hosts=False, proxy=proxy.url
            )

        assert address in str(err.value) and proxy.tunnels == []


def test_through_a_proxy_a_redirect_to_a_private_host_is_refused(assets_test, tmp_path):
    assets_test.routes["/a.png"] = redirect("https://10.0.0.8/internal.png")
    with ConnectProxy() as proxy:
        with pytest.raises(CreatifyAssetRefusedError, match=r"10\.0\.0\.8"):
            copy_assets(
                [f"https://assets.test:{assets_test.port}/a.png"], f"{tmp_path}/out/", proxy=proxy.url
            )

        assert proxy.tunnels == [("assets.test", assets_test.port)]


def test_a_name_only_the_proxy_can_resolve_is_left_to_it(tmp_path):
    with ConnectProxy() as proxy:
        with pytest.raises(CreatifyAssetCopyError, match="ProxyError") as err:
            copy_assets(["https://cdn.only-outside.test/a.png"], f"{tmp_path}/out/", proxy=proxy.url)

        assert not isinstance(err.value, CreatifyAssetRefusedError)  # a failed download: retried
        assert proxy.tunnels == [("cdn.only-outside.test", 443)]
