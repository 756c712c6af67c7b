"""The settings of each read replica: its DSN, completed from the primary's and given the replica pool."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig

# The primary's own routing and scale-out settings mean nothing for a replica's engine.
_NOT_INHERITED = frozenset(
    {"POSTGRES_DSN", "HOST", "PORT", "HOSTS", "TARGET_SESSION_ATTRS", "DSN_QUERY", "USERNAME", "PASSWORD"}
)


def read_replica_configs(primary: PostgresSQLAlchemyConfig) -> list[PostgresSQLAlchemyConfig]:
    """One configuration per ``READ_REPLICA_DSNS`` entry, in order.

    What a replica DSN leaves out (database, role, driver, SSL and pool settings) comes from the
    primary; the password only when the replica logs in as the primary's role. Pool size, overflow
    and connect timeout come from the ``READ_REPLICA_*`` settings.
    """
    inherited = {
        name: getattr(primary, name)
        for name in type(primary).model_fields
        if name not in _NOT_INHERITED and not name.startswith("READ_REPLICA_")
    }
    inherited["POOL_SIZE"] = primary.READ_REPLICA_POOL_SIZE or primary.POOL_SIZE
    if primary.READ_REPLICA_POOL_MAX_OVERFLOW is not None:
        inherited["POOL_MAX_OVERFLOW"] = primary.READ_REPLICA_POOL_MAX_OVERFLOW
    inherited["CONNECT_TIMEOUT"] = primary.READ_REPLICA_CONNECT_TIMEOUT
    return [_replica(primary, dsn.get_secret_value(), inherited) for dsn in primary.READ_REPLICA_DSNS]


def _replica(primary: PostgresSQLAlchemyConfig, dsn: str, inherited: dict[str, Any]) -> PostgresSQLAlchemyConfig:
    given = type(primary)._dsn_components(dsn)
    fields = {**inherited, **given}
    if "USERNAME" not in given:
        fields["USERNAME"] = primary.USERNAME
    if "PASSWORD" not in given and fields["USERNAME"] == primary.USERNAME and primary.PASSWORD is not None:
        fields["PASSWORD"] = primary.PASSWORD.get_secret_value()
    return type(primary).from_values(**fields)  # the primary's settings already include the environment
