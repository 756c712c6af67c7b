"""Multi-host (failover) server lists: read from a DSN or fields, rendered for libpq and asyncpg.

libpq writes several servers as ``postgresql://user@a:5432,b:5433/db``; SQLAlchemy as
``?host=a:5432&host=b:5433``; both also accept ``?host=a,b&port=5432,5433``. Whatever the form,
the configuration keeps one list of ``host:port`` entries (``[v6]:port`` for IPv6 addresses).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

# scheme://[userinfo@]authority[/path][?query]: the authority is what libpq lets hold several hosts.
_AUTHORITY = re.compile(r"^(?P<head>[^:/?#]+://(?:[^@/?#]*@)?)(?P<hosts>[^/?#]*)(?P<tail>.*)$", re.DOTALL)
_PLACEHOLDER_HOST = "multi-host"


def split_entry(entry: str, default_port: int | None) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port`` as (host, port); raises ValueError without echoing it."""
    text = entry.strip()
    port_text = ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ValueError("has a host entry that is not host[:port] or [IPv6]:port")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host = text  # a bare name, or an IPv6 address without brackets (and so without a port)
    if not host:
        raise ValueError("has an empty host entry")
    if not port_text:
        return host, default_port or 5432
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError("has a host entry whose port is not a number from 1 to 65535")
    return host, int(port_text)


def format_entry(host: str, port: int) -> str:
    """The canonical ``host:port`` (``[v6]:port``) form of one server."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def normalise(entries: Sequence[str], default_port: int | None) -> list[str]:
    """Canonical entries, every one with its port (asyncpg needs them all)."""
    return [format_entry(*split_entry(entry, default_port)) for entry in entries]


def split_dsn_authority(dsn: str) -> tuple[str, list[str] | None]:
    """Take a comma-separated host list out of a DSN's authority.

    Returns the DSN with one placeholder host in its place (so that SQLAlchemy can parse the rest)
    and the entries, or the DSN unchanged and None when it names at most one host there.
    """
    match = _AUTHORITY.match(dsn)
    if match is None or "," not in match["hosts"]:
        return dsn, None
    return f"{match['head']}{_PLACEHOLDER_HOST}{match['tail']}", match["hosts"].split(",")


def hosts_from_query(query: Mapping[str, Any]) -> list[str] | None:
    """The servers named by ``host``/``port`` query parameters, when there are several of them."""
    hosts = query.get("host")
    if hosts is None:
        return None
    host_list = list(hosts) if isinstance(hosts, list | tuple) else str(hosts).split(",")
    if len(host_list) < 2:
        return None
    ports = query.get("port")
    if ports is None:
        return host_list
    port_list = list(ports) if isinstance(ports, list | tuple) else str(ports).split(",")
    if len(port_list) == 1:
        port_list *= len(host_list)
    if len(port_list) != len(host_list):
        raise ValueError("names a different number of hosts and ports")
    return [f"{host}:{port}" if port else host for host, port in zip(host_list, port_list, strict=True)]


def query_parameters(entries: Sequence[str]) -> dict[str, str]:
    """``host`` and ``port`` query values that psycopg (libpq) and asyncpg both read as a server list."""
    pairs = [split_entry(entry, None) for entry in entries]
    return {"host": ",".join(host for host, _ in pairs), "port": ",".join(str(port) for _, port in pairs)}
