"""Check the whole configuration at once: ``config/gateway.toml`` and every partner profile.

Used by ``gateway check-config`` and at startup; nothing is started, every problem is returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gateway.config import PROJECT_ROOT, GatewayConfig, load_config
from gateway.errors import ConfigError, Problem
from gateway.profiles import load_partners

DEFAULT_PARTNERS_DIR = PROJECT_ROOT / "partners"


def check_all(
    config_path: Path | None,
    partners_dir: Path | None,
    *,
    env: Mapping[str, str] | None = None,
) -> list[Problem]:
    """Every problem in the gateway configuration and the partner profiles (empty if none).

    A broken configuration does not stop the partner check: the profiles are then read from
    ``partners_dir`` if given, else from the default ``partners/`` directory. Partners may not
    use the gateway's own interchange qualifier/ID (checked when the configuration loads).
    ``env`` replaces ``os.environ`` for the ``GATEWAY_*`` overrides (tests).
    """
    problems: list[Problem] = []
    config: GatewayConfig | None = None
    try:
        config = load_config(config_path, env=env)
    except ConfigError as exc:
        problems.extend(exc.problems)

    if partners_dir is not None:
        directory = partners_dir
    elif config is not None:
        directory = config.partners_dir
    else:
        directory = DEFAULT_PARTNERS_DIR
    own = (config.interchange_qualifier, config.interchange_id) if config is not None else None
    try:
        partners = load_partners(directory, own_interchange=own)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return problems
    # the simulated payers' rosters, plans and fee schedules
    from gateway.payers.loader import load_simulated_payers

    try:
        load_simulated_payers(partners, directory)
    except ConfigError as exc:
        problems.extend(exc.problems)
    return problems
