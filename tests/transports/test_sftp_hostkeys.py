"""gateway/transports/sftp/hostkeys.py: keys made once, and one set when nodes share the
directory (GATEWAY_HOST_KEYS_DIR)."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from gateway.transports.sftp.hostkeys import ED25519_FILE, load_or_create_host_keys


def _fingerprints(directory: str) -> dict[bytes, str]:
    return {k: v.fingerprint() for k, v in load_or_create_host_keys(Path(directory)).items()}


def test_keys_are_made_once_and_reused(tmp_path: Path) -> None:
    first = _fingerprints(str(tmp_path))
    assert set(first) == {b"ssh-ed25519", b"ssh-rsa"}
    assert (tmp_path / ED25519_FILE).stat().st_mode & 0o777 == 0o600
    assert _fingerprints(str(tmp_path)) == first
    assert not list(tmp_path.glob(".*tmp"))


def test_nodes_starting_together_on_a_shared_directory_present_one_host(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "keys"
    with ProcessPoolExecutor(max_workers=3) as pool:
        seen = list(pool.map(_fingerprints, [str(shared)] * 3))
    assert seen[0] == seen[1] == seen[2]
    assert seen[0] == _fingerprints(str(shared))
    assert not list(shared.glob(".*tmp"))
