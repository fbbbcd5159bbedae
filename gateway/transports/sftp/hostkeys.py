"""Host keys: ed25519 and RSA-3072, generated once into ``host_key_dir`` (0600), then reused.

The directory may be shared by the nodes of a cluster (``GATEWAY_HOST_KEYS_DIR``) so that a
client behind the load balancer always meets one host: a key is published with ``link(2)``,
which fails when the name exists, so when several nodes start at once the first key written
wins and every node loads that one."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from twisted.conch.ssh.keys import Key

ED25519_FILE = "ssh_host_ed25519_key"
RSA_FILE = "ssh_host_rsa_key"
RSA_BITS = 3072


def _write_private(path: Path, data: bytes) -> bool:
    """Publish a new key at ``path`` unless one is there already (another node's, written
    meanwhile); True when this one was published."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _generate(kind: str) -> bytes:
    key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
    if kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )


def load_or_create_host_keys(directory: Path) -> dict[bytes, Key]:
    """The host keys by SSH key type (``ssh-ed25519``, ``ssh-rsa``), creating missing ones.

    Private key files are written 0600 (atomically); ``.pub`` files alongside for operators.
    """
    directory.mkdir(parents=True, exist_ok=True)
    keys: dict[bytes, Key] = {}
    for kind, filename in (("ed25519", ED25519_FILE), ("rsa", RSA_FILE)):
        path = directory / filename
        if not path.exists() and _write_private(path, _generate(kind)):
            pub = Key.fromFile(str(path)).public().toString("openssh")
            (directory / (filename + ".pub")).write_bytes(pub + b"\n")
        elif path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        key = Key.fromFile(str(path))
        keys[key.sshType()] = key
    return keys
