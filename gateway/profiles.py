"""Trading-partner profiles: one XML file per partner in ``partners/``, checked against
``schemas/partner.xsd``.

The loaded :class:`PartnerSet` is immutable; a reload builds a new one and swaps it in only
when every profile is valid, so a bad reload leaves the previous set in force.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Role = Literal["submitter", "payer"]
Kind = Literal["billing-company", "provider", "simulated", "external"]


@dataclass(frozen=True)
class SftpUser:
    """A login for the partner's SFTP mailbox."""

    name: str
    public_keys: tuple[str, ...] = ()
    """OpenSSH public key lines (``ssh-ed25519 AAAA... comment``)."""
    password_hash: str | None = None
    """A bcrypt (``$2b$``) or argon2 (``$argon2id$``) hash; never plaintext."""


@dataclass(frozen=True)
class As2Identity:
    """Room for AS2 (used by the AS2 issue): name, certificates and policy."""

    name: str
    url: str | None = None
    certificates: tuple[str, ...] = ()
    """Paths (relative to the profile file's directory resolved at load) of PEM certificates."""
    require_signature: bool = True
    require_encryption: bool = True


@dataclass(frozen=True)
class Partner:
    id: str
    name: str
    role: Role
    kind: Kind
    isa_qualifier: str
    isa_id: str
    usage_indicators: frozenset[str] = frozenset({"P"})
    """ISA15 values this partner may send: ``{"T"}``, ``{"P"}`` or both."""
    npis: tuple[str, ...] = ()
    tins: tuple[str, ...] = ()
    payer_ids: tuple[str, ...] = ()
    sftp_users: tuple[SftpUser, ...] = ()
    as2: As2Identity | None = None
    source: str = ""
    """The profile file (for messages)."""
    demo: bool = False


@dataclass(frozen=True)
class PartnerSet:
    partners: Mapping[str, Partner] = field(default_factory=dict)

    def get(self, partner_id: str) -> Partner | None:
        return self.partners.get(partner_id)

    def by_interchange(self, qualifier: str, ident: str) -> Partner | None:
        """The partner whose ISA qualifier/ID this is (ID compared without padding)."""
        ident = ident.strip()
        for partner in self.partners.values():
            if partner.isa_qualifier == qualifier and partner.isa_id == ident:
                return partner
        return None

    def by_sftp_user(self, username: str) -> tuple[Partner, SftpUser] | None:
        for partner in self.partners.values():
            for user in partner.sftp_users:
                if user.name == username:
                    return partner, user
        return None

    def by_payer_id(self, payer_id: str) -> Partner | None:
        for partner in self.partners.values():
            if partner.role == "payer" and payer_id in partner.payer_ids:
                return partner
        return None


def load_partners(directory: str) -> PartnerSet:
    """Load every ``*.xml`` profile in ``directory``.

    Raises :class:`gateway.errors.ConfigError` listing every problem in every file (XSD
    violations with their line, duplicate partner ids / interchange ids / SFTP user names /
    payer ids across files, unreadable keys, plaintext passwords).
    """
    raise NotImplementedError
