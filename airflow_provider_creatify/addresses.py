"""Which hosts the provider may reach: loopback (the sandbox) and, for asset downloads, public addresses.

The one place that says what "loopback" and "private" mean, for the API's base URL and for asset URLs.
Standard library only: DAG files import it through the hook on every parse.
"""

from __future__ import annotations

import ipaddress


def is_loopback_host(hostname: str | None) -> bool:
    """Whether ``hostname`` names this machine without leaving it: ``localhost`` or a loopback IP literal.

    Decided from the name alone (no DNS): a name that merely resolves to 127.0.0.1 is not trusted as loopback.
    """
    if not hostname:
        return False
    host = hostname.strip("[]").lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
