"""Asset hosts for the copy tests: a loopback HTTP server whose answers each test writes itself
(``asset_server``), and the copy operator (``make_copy_operator``).

Every name other than ``localhost`` resolves, for these tests, to the loopback addresses a test picks
(``names``, on for every test here): no lookup and no connection ever leaves this machine, whatever the
code under test does with a URL.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_creatify.operators.creatify import CreatifyCopyAssetsOperator
from tests.helpers import LoopbackServer


@pytest.fixture
def asset_server() -> Iterator[LoopbackServer]:
    """A server on 127.0.0.1 with no routes yet: every path answers 404 until a test sets its answer."""
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def make_copy_operator() -> Callable[..., CreatifyCopyAssetsOperator]:
    """``make_copy_operator(urls, destination, **kwargs)``: a CreatifyCopyAssetsOperator, task id "store"."""

    def make(urls: Any, destination: Any, **kwargs: Any) -> CreatifyCopyAssetsOperator:
        return CreatifyCopyAssetsOperator(task_id="store", asset_urls=urls, destination=destination, **kwargs)

    return make


@pytest.fixture(autouse=True)
def names(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Host name -> its successive answers, loopback addresses (the last one repeats): ``["127.0.0.1"]``.

    A name not listed (other than ``localhost`` and IP literals) fails to resolve.
    """
    table: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in table:
            addresses = table[name] if len(table[name]) == 1 else [table[name].pop(0)]
            return [info for address in addresses for info in real(address, port, *args, **kwargs)]
        if name != "localhost" and not _is_ip(name):
            raise socket.gaierror(socket.EAI_NONAME, "no such host in this test")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


def _is_ip(name: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
