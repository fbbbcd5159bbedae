"""Trading-partner profiles: one XML file per partner in ``partners/``, checked against
``schemas/partner.xsd``.

The loaded :class:`PartnerSet` is immutable; a reload builds a new one and swaps it in only
when every profile is valid, so a bad reload leaves the previous set in force.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, cast

from lxml import etree

from gateway.config import PROJECT_ROOT
from gateway.errors import ConfigError, Problem
from gateway.x12.identifiers import npi_valid

if TYPE_CHECKING:
    from datetime import date

    from gateway.config import GatewayConfig
    from gateway.x12.edits import EditContext
    from gateway.x12.results import PartnerDirectory

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
class ApiToken:
    """A bearer token for the HTTP API: ``<id>.<secret>``, of which the profile keeps only
    the SHA-256 of the whole token string (see :mod:`gateway.api.auth` for why a fast hash is
    enough for random 256-bit secrets)."""

    id: str
    sha256: bytes
    """The 32-byte digest of the UTF-8 token ``<id>.<secret>``."""


@dataclass(frozen=True)
class CoreEndpoint:
    """An external payer's CAQH CORE SOAP endpoint (real-time 270s are forwarded there)."""

    url: str
    user: str = ""
    """WS-Security Username (empty: the gateway's ISA ID)."""
    password_env: str = ""
    """The environment variable that holds the password (never the profile itself)."""
    timeout: float = 20.0
    """The round-trip budget in seconds (CORE: 20)."""
    client_certificate: str = ""
    """Mutual TLS: our client certificate (PEM, absolute path); empty: none."""
    client_key: str = ""
    """Its private key (PEM, absolute path)."""
    ca: str = ""
    """The CA certificate(s) the payer's server certificate must chain to (PEM); empty: the
    system's trust store."""


@dataclass(frozen=True)
class As2Identity:
    """The partner's AS2 name, certificates (several during a rollover), policy for what it
    sends us, and whether we push its mailbox to it over AS2."""

    name: str
    url: str | None = None
    certificates: tuple[str, ...] = ()
    """Absolute paths of PEM/DER certificates (written relative to the profile file's
    directory or, failing that, the project root)."""
    require_signature: bool = True
    require_encryption: bool = True
    digests: tuple[str, ...] = ()
    """MIC/signature digests agreed with the partner, preferred first; empty: any supported
    (and ``sha-256`` for what we send)."""
    ciphers: tuple[str, ...] = ()
    """Content encryption accepted from the partner (``aes256-cbc``, ``des-ede3-cbc``, ...);
    empty: AES-CBC only."""
    async_mdn_urls: tuple[str, ...] = ()
    """Where the partner may ask for asynchronous MDNs (exact, or a prefix ending in ``/``);
    empty: MDNs only in the HTTP response."""
    deliver: bool = False
    """Push the partner's outbound mailbox files to ``url`` over AS2."""
    mdn: Literal["sync", "async"] = "sync"
    """The MDN we ask for when pushing."""


@dataclass(frozen=True)
class Provider:
    """A provider (billing/pay-to) a submitter may bill for; 835s for it go to that submitter."""

    npi: str
    tin: str
    name: str


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
    payer_tin: str = ""
    """The payer's EIN/TIN (``<payer-ids tin="...">``): its 835s' TRN03 must be ``1`` + it."""
    sftp_users: tuple[SftpUser, ...] = ()
    as2: As2Identity | None = None
    source: str = ""
    """The profile file (for messages)."""
    demo: bool = False
    providers: tuple[Provider, ...] = ()
    """The providers behind ``npis``/``tins``, in profile order (submitters only)."""
    api_tokens: tuple[ApiToken, ...] = ()
    """Bearer tokens of the HTTP API (hashes only)."""
    core: CoreEndpoint | None = None
    """An external payer's CAQH CORE endpoint (``<core url=... />``)."""


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

    def by_api_token(self, token_id: str) -> tuple[Partner, ApiToken] | None:
        """The partner owning API token ``token_id`` (token ids are unique across profiles)."""
        for partner in self.partners.values():
            for token in partner.api_tokens:
                if token.id == token_id:
                    return partner, token
        return None

    def by_as2_name(self, as2_name: str) -> Partner | None:
        """The partner with this AS2 name (compared exactly, as RFC 4130 names are)."""
        for partner in self.partners.values():
            if partner.as2 is not None and partner.as2.name == as2_name:
                return partner
        return None

    def by_payer_id(self, payer_id: str) -> Partner | None:
        for partner in self.partners.values():
            if partner.role == "payer" and payer_id in partner.payer_ids:
                return partner
        return None


NAMESPACE = "urn:edi-gateway:partner:1"
SCHEMA_PATH = PROJECT_ROOT / "schemas" / "partner.xsd"

_NS = {"p": NAMESPACE}
_ROLE_KINDS: dict[str, frozenset[str]] = {
    "submitter": frozenset({"billing-company", "provider"}),
    "payer": frozenset({"simulated", "external"}),
}
_KEY_TYPES = frozenset(
    {"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"}
)
_MIN_RSA_BITS = 2048
_NPI_RE = re.compile(r"[12][0-9]{9}")


def npi_check_digit_ok(npi: str) -> bool:
    """The NPI Luhn check (ISO 7812 card-issuer prefix ``80840`` + the ten digits)."""
    return npi_valid(npi)


@lru_cache(maxsize=1)
def _schema() -> Any:
    try:
        return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))
    except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
        raise ConfigError([Problem(str(SCHEMA_PATH), None, f"unusable schema: {exc}")]) from exc


def _line(node: Any) -> int | None:
    line = getattr(node, "sourceline", None)
    return line if isinstance(line, int) and line > 0 else None


def _text(node: Any) -> str:
    return " ".join(str(node.text or "").split()) if node is not None else ""


def _attr(node: Any, name: str) -> str:
    return str(node.get(name, "")).strip()


def _find(node: Any, path: str) -> Any:
    return node.find(path, _NS)


def _findall(node: Any, path: str) -> list[Any]:
    return list(node.findall(path, _NS))


def _schema_message(message: str) -> str | None:
    """libxml2's message, without namespace noise; ``None`` for messages not worth showing."""
    if "No precomputed value available" in message:
        return None
    if "password-hash" in message and "pattern" in message:
        # never echo the value: it may be a plaintext password
        return (
            "password-hash must be a bcrypt ($2a$/$2b$/$2y$) or $argon2id$ hash; "
            "plaintext passwords are not accepted"
        )
    if "token" in message and "pattern" in message and "attribute" not in message:
        # never echo the value: it may be the token itself
        return (
            "an API token must be given as 'sha256:' and the 64 lower-case hex digits of the "
            "SHA-256 of the whole token; the token itself is never accepted"
        )
    if "No matching global declaration available for the validation root" in message:
        return f'the root element must be <partner xmlns="{NAMESPACE}">'
    return message.replace("{" + NAMESPACE + "}", "")


@dataclass
class _Loaded:
    """One valid profile plus where its identifiers are (for cross-file messages)."""

    partner: Partner
    file: str
    id_line: int | None
    interchange_line: int | None
    user_lines: dict[str, int | None]
    payer_id_lines: dict[str, int | None]
    token_lines: dict[str, int | None] = field(default_factory=dict)
    as2_line: int | None = None


class _FileChecker:
    def __init__(self, path: Path, check_keys: bool = True) -> None:
        self.path = path
        self.check_keys = check_keys
        self.file = str(path)
        self.problems: list[Problem] = []
        self.schema_lines: set[int | None] = set()

    def problem(self, node: Any, message: str) -> None:
        self.problems.append(Problem(self.file, _line(node), message))

    def local_problem(self, node: Any, message: str) -> None:
        """A value check that the schema may already have complained about on this line."""
        if _line(node) not in self.schema_lines:
            self.problem(node, message)

    def load(self) -> _Loaded | None:
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            self.problems.append(Problem(self.file, None, f"cannot read: {exc.strerror}"))
            return None
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
        )
        try:
            root = etree.fromstring(data, parser, base_url=self.file)
        except etree.XMLSyntaxError as exc:
            line = exc.lineno if isinstance(exc.lineno, int) and exc.lineno > 0 else None
            self.problems.append(Problem(self.file, line, f"XML syntax error: {exc.msg}"))
            return None

        schema = _schema()
        valid = bool(schema.validate(root.getroottree()))
        for entry in schema.error_log:
            message = _schema_message(str(entry.message))
            if message is not None:
                line = entry.line if isinstance(entry.line, int) and entry.line > 0 else None
                self.schema_lines.add(line)
                self.problems.append(Problem(self.file, line, message))

        # Value checks that stand on their own: run them even on a file the schema rejected.
        providers = self.providers(root)
        users = self.users(root)
        as2 = self.as2(root)
        tokens = self.api_tokens(root) if valid else []
        if not valid:
            return None
        return self.partner(root, providers, users, as2, tokens)

    def providers(self, root: Any) -> list[Provider]:
        result = []
        for node in _findall(root, "p:billing-for/p:provider"):
            npi = _attr(node, "npi")
            if not (_NPI_RE.fullmatch(npi) and npi_check_digit_ok(npi)):
                self.local_problem(
                    node,
                    f"provider NPI {npi!r} is not a valid NPI (10 digits, first 1 or 2, "
                    "Luhn check digit)",
                )
            result.append(Provider(npi=npi, tin=_attr(node, "tin"), name=_attr(node, "name")))
        return result

    def users(self, root: Any) -> list[SftpUser]:
        result = []
        for node in _findall(root, "p:sftp/p:user"):
            name = _attr(node, "name")
            keys = []
            for key_node in _findall(node, "p:public-key"):
                key = _text(key_node)
                message = _public_key_problem(key) if self.check_keys else None
                if message:
                    self.local_problem(key_node, f"SFTP user {name!r}: {message}")
                keys.append(key)
            hash_node = _find(node, "p:password-hash")
            password_hash = _text(hash_node) if hash_node is not None else None
            if not keys and not password_hash:
                self.problem(
                    node, f"SFTP user {name!r} has no credential (public-key or password-hash)"
                )
            result.append(SftpUser(name=name, public_keys=tuple(keys), password_hash=password_hash))
        return result

    def api_tokens(self, root: Any) -> list[ApiToken]:
        """Tokens of a schema-valid file (the schema checked the ``sha256:<hex>`` form)."""
        result = []
        for node in _findall(root, "p:api/p:token"):
            digest = _text(node).removeprefix("sha256:")
            result.append(ApiToken(id=_attr(node, "id"), sha256=bytes.fromhex(digest)))
        return result

    def as2(self, root: Any) -> As2Identity | None:
        node = _find(root, "p:as2")
        if node is None:
            return None
        certificates = []
        for cert_node in _findall(node, "p:certificate"):
            relative = _attr(cert_node, "file")
            path = _certificate_path(self.path.parent, relative)
            message = _certificate_problem(path) if self.check_keys else None
            if message:
                self.local_problem(cert_node, f"AS2 certificate {relative!r}: {message}")
            certificates.append(str(path))
        url = _attr(node, "url") or None
        deliver = _attr(node, "deliver") in ("true", "1")
        if deliver and url is None:
            self.local_problem(node, 'AS2 deliver="true" needs the partner\'s url')
        if deliver and not certificates:
            self.local_problem(node, 'AS2 deliver="true" needs a <certificate> to encrypt to')
        return As2Identity(
            name=_attr(node, "name"),
            url=url,
            certificates=tuple(certificates),
            require_signature=_boolean(_find(node, "p:require-signature"), default=True),
            require_encryption=_boolean(_find(node, "p:require-encryption"), default=True),
            digests=tuple(_text(n) for n in _findall(node, "p:digest")),
            ciphers=tuple(dict.fromkeys(_text(n) for n in _findall(node, "p:cipher"))),
            async_mdn_urls=tuple(_text(n) for n in _findall(node, "p:async-mdn-url")),
            deliver=deliver,
            mdn="async" if _attr(node, "mdn") == "async" else "sync",
        )

    def partner(
        self,
        root: Any,
        providers: list[Provider],
        users: list[SftpUser],
        as2: As2Identity | None,
        tokens: list[ApiToken],
    ) -> _Loaded | None:
        partner_id = _attr(root, "id")
        role = _text(_find(root, "p:role"))
        kind_node = _find(root, "p:kind")
        kind = _text(kind_node)
        if kind not in _ROLE_KINDS[role]:
            allowed = " or ".join(sorted(_ROLE_KINDS[role]))
            self.problem(kind_node, f"a {role} must be of kind {allowed}, not {kind!r}")

        interchange = _find(root, "p:interchange")
        usage = frozenset(_text(n) for n in _findall(interchange, "p:usage")) or frozenset({"P"})

        billing_for = _find(root, "p:billing-for")
        payer_ids_node = _find(root, "p:payer-ids")
        payer_id_nodes = _findall(root, "p:payer-ids/p:payer-id")
        if role == "submitter":
            if not providers:
                self.problem(root, "a submitter needs <billing-for> with at least one <provider>")
            if payer_ids_node is not None:
                self.problem(payer_ids_node, "<payer-ids> is only for payers")
        else:
            if not payer_id_nodes:
                self.problem(root, "a payer needs <payer-ids> with at least one <payer-id>")
            if billing_for is not None:
                self.problem(billing_for, "<billing-for> is only for submitters")

        core_node = _find(root, "p:core")
        core: CoreEndpoint | None = None
        if core_node is not None:
            if role != "payer" or kind != "external":
                self.problem(core_node, "<core> is only for external payers")
            try:
                timeout = float(_attr(core_node, "timeout") or "20")
            except ValueError:
                timeout = 0.0
            if not 0 < timeout <= 300:
                self.problem(core_node, "<core timeout> must be 0 < seconds <= 300")
            tls: dict[str, str] = {}
            for attr in ("client-certificate", "client-key", "ca"):
                if _attr(core_node, attr):
                    path = _certificate_path(self.path.parent, _attr(core_node, attr))
                    if not path.is_file():
                        self.problem(core_node, f"<core {attr}> {path} does not exist")
                    tls[attr.replace("-", "_")] = str(path)
            if ("client_certificate" in tls) != ("client_key" in tls):
                self.problem(core_node, "<core> needs client-certificate and client-key together")
            core = CoreEndpoint(
                _attr(core_node, "url"),
                _attr(core_node, "user"),
                _attr(core_node, "password-env"),
                timeout,
                **tls,
            )
        if self.problems:
            return None
        partner = Partner(
            id=partner_id,
            name=_text(_find(root, "p:name")),
            role=cast(Role, role),
            kind=cast(Kind, kind),
            isa_qualifier=_attr(interchange, "qualifier"),
            isa_id=_attr(interchange, "id"),
            usage_indicators=usage,
            npis=tuple(p.npi for p in providers),
            tins=tuple(p.tin for p in providers),
            payer_ids=tuple(_text(n) for n in payer_id_nodes),
            payer_tin=_attr(payer_ids_node, "tin") if payer_ids_node is not None else "",
            sftp_users=tuple(users),
            as2=as2,
            source=self.file,
            demo=_attr(root, "demo") in ("true", "1"),
            providers=tuple(providers),
            api_tokens=tuple(tokens),
            core=core,
        )
        return _Loaded(
            partner=partner,
            file=self.file,
            id_line=_line(root),
            interchange_line=_line(interchange),
            user_lines={_attr(n, "name"): _line(n) for n in _findall(root, "p:sftp/p:user")},
            payer_id_lines={_text(n): _line(n) for n in payer_id_nodes},
            token_lines={_attr(n, "id"): _line(n) for n in _findall(root, "p:api/p:token")},
            as2_line=_line(_find(root, "p:as2")),
        )


def _boolean(node: Any, *, default: bool) -> bool:
    if node is None:
        return default
    return _text(node) in ("true", "1")


def _public_key_problem(line: str) -> str | None:
    from cryptography.hazmat.primitives.asymmetric import dsa, rsa
    from cryptography.hazmat.primitives.serialization import load_ssh_public_key

    key_type = line.split(" ", 1)[0]
    if key_type not in _KEY_TYPES:
        return f"key type {key_type!r} not accepted (use {', '.join(sorted(_KEY_TYPES))})"
    try:
        key = load_ssh_public_key(line.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        return f"public key does not parse ({exc})"
    except Exception as exc:  # any other parse failure of user data is still a config problem
        return f"public key does not parse ({type(exc).__name__}: {exc})"
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA keys are not accepted"
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < _MIN_RSA_BITS:
        return f"RSA key of {key.key_size} bits is too short (minimum {_MIN_RSA_BITS})"
    return None


def _certificate_path(profile_dir: Path, name: str) -> Path:
    """A certificate file: relative to the profile's directory, else to the project root (as
    the demo profiles write ``config/demo/as2/...``, which keeps working in a copied set)."""
    path = (profile_dir / name).resolve()
    if not path.exists() and not Path(name).is_absolute():
        fallback = (PROJECT_ROOT / name).resolve()
        if fallback.exists():
            return fallback
    return path


def _certificate_problem(path: Path) -> str | None:
    from cryptography import x509

    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror}"
    try:
        if b"-----BEGIN" in data:
            x509.load_pem_x509_certificate(data)
        else:
            x509.load_der_x509_certificate(data)
    except ValueError as exc:
        return f"not a PEM or DER X.509 certificate ({exc})"
    return None


def _duplicates(
    problems: list[Problem],
    what: str,
    occurrences: Iterable[tuple[object, str, int | None, str]],
) -> None:
    """Report every occurrence of a key already seen, naming both places."""
    first: dict[object, tuple[str, int | None]] = {}
    for key, file, line, shown in occurrences:
        if key in first:
            other_file, other_line = first[key]
            where = f"{other_file}:{other_line}" if other_line is not None else other_file
            problems.append(Problem(file, line, f"duplicate {what} {shown}: also in {where}"))
        else:
            first[key] = (file, line)


def load_partners(
    directory: str | os.PathLike[str],
    *,
    own_interchange: tuple[str, str] | None = None,
    check_keys: bool = True,
) -> PartnerSet:
    """Load every ``*.xml`` profile in ``directory``.

    Raises :class:`gateway.errors.ConfigError` listing every problem in every file (XML syntax
    errors and XSD violations with their line, duplicate partner ids / interchange ids / SFTP
    user names / payer ids / API token ids across files, unreadable keys, plaintext passwords
    and tokens, role/kind mismatches). ``own_interchange`` is the gateway's own ISA qualifier
    and ID, which no partner may use. ``check_keys=False`` (commands that authenticate nobody,
    e.g. ``gateway validate``) skips parsing SSH public keys and AS2 certificates.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise ConfigError([Problem(str(folder), None, "partners directory not found")])
    problems: list[Problem] = []
    loaded: list[_Loaded] = []
    for path in sorted(folder.glob("*.xml")):
        if path.name.startswith(".") or not path.is_file():
            continue
        checker = _FileChecker(path, check_keys)
        result = checker.load()
        problems.extend(checker.problems)
        if result is not None:
            loaded.append(result)

    if own_interchange is not None:
        qualifier, ident = own_interchange[0], own_interchange[1].strip()
        for item in loaded:
            p = item.partner
            if (p.isa_qualifier, p.isa_id) == (qualifier, ident):
                problems.append(
                    Problem(
                        item.file,
                        item.interchange_line,
                        f"interchange {qualifier}/{ident} is the gateway's own interchange id",
                    )
                )
    _duplicates(
        problems,
        "partner id",
        ((i.partner.id, i.file, i.id_line, repr(i.partner.id)) for i in loaded),
    )
    _duplicates(
        problems,
        "interchange",
        (
            (
                (i.partner.isa_qualifier, i.partner.isa_id),
                i.file,
                i.interchange_line,
                f"{i.partner.isa_qualifier}/{i.partner.isa_id}",
            )
            for i in loaded
        ),
    )
    _duplicates(
        problems,
        "SFTP user",
        ((name, i.file, line, repr(name)) for i in loaded for name, line in i.user_lines.items()),
    )
    _duplicates(
        problems,
        "API token id",
        ((tid, i.file, line, repr(tid)) for i in loaded for tid, line in i.token_lines.items()),
    )
    _duplicates(
        problems,
        "AS2 name",
        (
            (i.partner.as2.name, i.file, i.as2_line, repr(i.partner.as2.name))
            for i in loaded
            if i.partner.as2 is not None
        ),
    )
    _duplicates(
        problems,
        "payer id",
        (
            (payer_id, i.file, line, repr(payer_id))
            for i in loaded
            for payer_id, line in i.payer_id_lines.items()
        ),
    )
    if problems:
        problems.sort(key=lambda p: (p.file, p.line or 0))
        raise ConfigError(problems)
    return PartnerSet(MappingProxyType({i.partner.id: i.partner for i in loaded}))


def partner_directory(config: GatewayConfig, partners: PartnerSet) -> PartnerDirectory:
    """The envelope check's view of the partners: who may send interchanges, and as what."""
    from gateway.x12.results import EnvelopeParty, PartnerDirectory

    parties = {
        (p.isa_qualifier, p.isa_id): EnvelopeParty(p.id, p.usage_indicators)
        for p in partners.partners.values()
    }
    return PartnerDirectory(config.interchange_qualifier, config.interchange_id, parties)


def edit_context(partners: PartnerSet, uploader: str, received: date) -> EditContext | None:
    """What the front-end edits need for files from ``uploader`` (None: not a submitter).

    "Today" for the date edits is the day the file was received, so reprocessing after a
    restart judges the file exactly as it would have been judged on arrival.
    """
    from gateway.x12.edits import context_for

    partner = partners.get(uploader)
    if partner is None or partner.role != "submitter":
        return None
    payer_ids = [
        pid for p in partners.partners.values() if p.role == "payer" for pid in p.payer_ids
    ]
    return context_for(partner, payer_ids, today=received)
