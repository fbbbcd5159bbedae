"""Partner profiles: the demo set, and every kind of problem reported with file and line."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from gateway.checks import check_all
from gateway.config import PROJECT_ROOT
from gateway.errors import ConfigError, Problem
from gateway.profiles import PartnerSet, load_partners, npi_check_digit_ok

PARTNERS = PROJECT_ROOT / "partners"
KEYS = PROJECT_ROOT / "config" / "demo" / "keys"
ED25519 = (KEYS / "demo-billing.pub").read_text().strip()
HASH = "$2b$10$SdrMMvc6yE4Xksl8u4WUxeuAAM6AFrs4zyNB.lhuGYxXCTc8vMOpG"
GATEWAY = ("ZZ", "CLEARINGHOUSE")


def submitter(
    pid: str = "acme",
    *,
    isa: str = "ACME",
    user: str = "acme",
    key: str = ED25519,
    npi: str = "1234567893",
    kind: str = "billing-company",
    extra: str = "",
) -> str:
    # line numbers below are relied on by the tests: keep the layout
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<partner xmlns="urn:edi-gateway:partner:1" id="{pid}">
  <name>Acme Billing</name>
  <role>submitter</role>
  <kind>{kind}</kind>
  <interchange qualifier="ZZ" id="{isa}"/>
  <billing-for>
    <provider npi="{npi}" tin="123456789" name="Acme Clinic"/>
  </billing-for>
  <sftp>
    <user name="{user}">
      <public-key>{key}</public-key>
    </user>
  </sftp>{extra}
</partner>
"""


def payer(pid: str = "pay1", *, isa: str = "PAY1", payer_id: str = "PAY1") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<partner xmlns="urn:edi-gateway:partner:1" id="{pid}">
  <name>A Payer</name>
  <role>payer</role>
  <kind>simulated</kind>
  <interchange qualifier="ZZ" id="{isa}"/>
  <payer-ids>
    <payer-id>{payer_id}</payer-id>
  </payer-ids>
</partner>
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(directory: Path, **kwargs: object) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        load_partners(directory, **kwargs)  # type: ignore[arg-type]
    assert str(info.value)  # the message lists the problems
    return info.value.problems


def only(problems: list[Problem], needle: str) -> Problem:
    found = [p for p in problems if needle in p.message]
    assert len(found) == 1, problems
    return found[0]


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    target = tmp_path / "partners"
    shutil.copytree(PARTNERS, target)
    return target


# ---------------------------------------------------------------- the demo set


def test_demo_set_loads() -> None:
    partners = load_partners(PARTNERS, own_interchange=GATEWAY)
    assert set(partners.partners) == {"demo-billing", "sim01", "sim02", "ext01"}
    assert all(p.demo for p in partners.partners.values())

    billing = partners.partners["demo-billing"]
    assert (billing.role, billing.kind) == ("submitter", "billing-company")
    assert (billing.isa_qualifier, billing.isa_id) == ("ZZ", "DEMOBILLING")
    assert billing.usage_indicators == frozenset({"T", "P"})
    assert billing.npis == ("1234567893", "1987654328")
    assert billing.tins == ("123456789", "987654321")
    assert [p.name for p in billing.providers] == ["Demo Family Practice", "Demo Physical Therapy"]
    assert all(npi_check_digit_ok(n) for n in billing.npis)
    (user,) = billing.sftp_users
    assert user.name == "demo-billing"
    assert user.public_keys == (
        (KEYS / "demo-billing.pub").read_text().strip(),
        (KEYS / "demo-billing-rsa.pub").read_text().strip(),
    )
    assert user.password_hash is not None and user.password_hash.startswith("$2b$")
    assert billing.source.endswith("demo-billing.xml")

    assert partners.partners["sim01"].payer_ids == ("SIM01",)
    assert partners.partners["sim02"].payer_ids == ("SIM02",)
    assert partners.partners["sim01"].sftp_users == ()
    ext01 = partners.partners["ext01"]
    assert (ext01.kind, ext01.payer_ids, ext01.isa_id) == ("external", ("EXT01",), "EXT01PAYER")
    assert ext01.payer_tin == "990000009"  # TRN03 of its 835s is "1990000009"
    assert partners.partners["sim01"].payer_tin == ""  # optional
    assert ext01.sftp_users[0].public_keys == ((KEYS / "ext01.pub").read_text().strip(),)


def test_demo_password_matches_the_documented_one() -> None:
    bcrypt = pytest.importorskip("bcrypt")
    partners = load_partners(PARTNERS)
    found = partners.by_sftp_user("demo-billing")
    assert found is not None
    hashed = found[1].password_hash
    assert hashed is not None
    assert bcrypt.checkpw(b"demo-billing-password", hashed.encode())
    assert "demo-billing-password" in (PROJECT_ROOT / "config/demo/README.md").read_text()


def test_demo_private_keys_match_the_profiles() -> None:
    for name in ("demo-billing", "demo-billing-rsa", "ext01"):
        private = serialization.load_ssh_private_key((KEYS / name).read_bytes(), None)
        public = private.public_key().public_bytes(  # type: ignore[union-attr]
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        assert (KEYS / f"{name}.pub").read_text().startswith(public.decode())


def test_lookups() -> None:
    partners = load_partners(PARTNERS)
    assert isinstance(partners, PartnerSet)
    billing = partners.by_interchange("ZZ", "DEMOBILLING    ")  # ISA06 as padded on the wire
    assert billing is not None and billing.id == "demo-billing"
    assert partners.by_interchange("01", "DEMOBILLING") is None
    ext = partners.by_sftp_user("ext01")
    assert ext is not None and ext[0].id == "ext01"
    payer = partners.by_payer_id("SIM02")
    assert payer is not None and payer.id == "sim02"
    assert partners.by_payer_id("NOPE") is None
    assert partners.get("sim01") is not None
    with pytest.raises(TypeError):
        partners.partners["x"] = billing  # type: ignore[index]


def test_usage_defaults_to_production_only(tmp_path: Path) -> None:
    write(tmp_path, "acme.xml", submitter())
    partner = load_partners(tmp_path).partners["acme"]
    assert partner.usage_indicators == frozenset({"P"})
    assert partner.demo is False


def test_rsa_and_ecdsa_keys_accepted_and_optional_parts(tmp_path: Path) -> None:
    ecdsa = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    write(tmp_path, "acme.xml", submitter(key=ecdsa + " someone@host"))
    write(tmp_path, "pay1.xml", payer())
    partners = load_partners(tmp_path)
    assert partners.partners["acme"].sftp_users[0].public_keys[0].startswith("ecdsa-sha2-nistp256")


# ---------------------------------------------------------------- problems, one kind each


def test_missing_directory(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path / "nope")
    assert problem.file == str(tmp_path / "nope")
    assert "not found" in problem.message


def test_xml_syntax_error_has_line(tmp_path: Path) -> None:
    text = submitter().replace("<kind>billing-company</kind>", "<kind>billing-company</knd>")
    path = write(tmp_path, "acme.xml", text)
    (problem,) = problems_of(tmp_path)
    assert problem.file == str(path)
    assert problem.line == 5
    assert "XML syntax error" in problem.message


def test_schema_violations_have_lines(tmp_path: Path) -> None:
    text = (
        submitter(npi="12345")  # line 8: pattern
        .replace('qualifier="ZZ"', 'qualifier="Z"')  # line 6: pattern
        .replace('id="acme"', 'id="Acme Billing"')  # line 2: pattern
    )
    path = write(tmp_path, "acme.xml", text)
    problems = problems_of(tmp_path)
    assert {p.file for p in problems} == {str(path)}
    assert {p.line for p in problems} == {2, 6, 8}
    assert "{urn:" not in str(problems)  # namespace noise removed
    assert only(problems, "'12345'").line == 8  # no second "not a valid NPI" for the same value


def test_missing_element_reported(tmp_path: Path) -> None:
    write(tmp_path, "acme.xml", submitter().replace("  <role>submitter</role>\n", ""))
    (problem,) = problems_of(tmp_path)
    assert problem.line == 4
    assert "kind" in problem.message and "role" in problem.message


def test_wrong_namespace(tmp_path: Path) -> None:
    write(tmp_path, "acme.xml", submitter().replace(' xmlns="urn:edi-gateway:partner:1"', ""))
    (problem,) = problems_of(tmp_path)
    assert problem.line == 2
    assert "urn:edi-gateway:partner:1" in problem.message


def test_plaintext_password_rejected_and_not_echoed(tmp_path: Path) -> None:
    text = submitter().replace(
        "</public-key>\n", "</public-key>\n      <password-hash>hunter2-secret</password-hash>\n"
    )
    write(tmp_path, "acme.xml", text)
    problems = problems_of(tmp_path)
    assert "hunter2-secret" not in str(problems)
    (problem,) = problems
    assert problem.line == 13
    assert "plaintext" in problem.message


@pytest.mark.parametrize(
    "hashed",
    [
        HASH,
        HASH.replace("$2b$", "$2a$"),
        HASH.replace("$2b$", "$2y$"),
        "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
    ],
)
def test_password_hash_formats_accepted(tmp_path: Path, hashed: str) -> None:
    text = submitter().replace(
        f"      <public-key>{ED25519}</public-key>",
        f"      <password-hash>{hashed}</password-hash>",
    )
    write(tmp_path, "acme.xml", text)
    assert load_partners(tmp_path).partners["acme"].sftp_users[0].password_hash == hashed


def test_npi_check_digit(tmp_path: Path) -> None:
    write(tmp_path, "acme.xml", submitter(npi="1234567890"))
    problem = only(problems_of(tmp_path), "not a valid NPI")
    assert problem.line == 8
    assert npi_check_digit_ok("1234567893")
    assert not npi_check_digit_ok("1234567890")


@pytest.mark.parametrize(
    ("key", "needle"),
    [
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP0ZDSy9irzG69Ku demo", "does not parse"),
        ("ssh-rsa " + ED25519.split()[1] + " mismatch", "does not parse"),
        ("ssh-dss AAAAB3NzaC1kc3MAAACBAP== old", "not accepted"),
    ],
)
def test_bad_public_key_has_line(tmp_path: Path, key: str, needle: str) -> None:
    write(tmp_path, "acme.xml", submitter(key=key))
    problem = only(problems_of(tmp_path), needle)
    assert problem.line == 12
    assert "'acme'" in problem.message  # names the user


def test_short_rsa_key_rejected(tmp_path: Path) -> None:
    short = (
        rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (rejected on purpose)
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    write(tmp_path, "acme.xml", submitter(key=short))
    assert only(problems_of(tmp_path), "too short").line == 12


def test_role_kind_mismatch(tmp_path: Path) -> None:
    write(tmp_path, "acme.xml", submitter(kind="simulated"))
    write(tmp_path, "pay1.xml", payer().replace("<kind>simulated</kind>", "<kind>provider</kind>"))
    problems = problems_of(tmp_path)
    assert [(Path(p.file).name, p.line) for p in problems] == [("acme.xml", 5), ("pay1.xml", 5)]
    assert "a submitter must be of kind billing-company or provider" in problems[0].message
    assert "a payer must be of kind external or simulated" in problems[1].message


def test_submitter_without_providers_and_payer_without_payer_ids(tmp_path: Path) -> None:
    text = submitter()
    start, end = text.index("  <billing-for>"), text.index("  <sftp>")
    write(tmp_path, "acme.xml", text[:start] + text[end:])
    text = payer()
    start, end = text.index("  <payer-ids>"), text.index("</partner>")
    write(tmp_path, "pay1.xml", text[:start] + text[end:])
    problems = problems_of(tmp_path)
    assert only(problems, "a submitter needs <billing-for>").line == 2
    assert only(problems, "a payer needs <payer-ids>").line == 2


def test_sections_for_the_other_role(tmp_path: Path) -> None:
    text = submitter().replace(
        "  <sftp>", "  <payer-ids>\n    <payer-id>X1</payer-id>\n  </payer-ids>\n  <sftp>"
    )
    write(tmp_path, "acme.xml", text)
    write(
        tmp_path,
        "pay1.xml",
        payer().replace(
            "  <payer-ids>",
            '  <billing-for><provider npi="1234567893" tin="123456789" name="x"/></billing-for>\n'
            "  <payer-ids>",
        ),
    )
    problems = problems_of(tmp_path)
    assert only(problems, "<payer-ids> is only for payers").line == 10
    assert only(problems, "<billing-for> is only for submitters").line == 7


def test_user_without_credential(tmp_path: Path) -> None:
    write(
        tmp_path, "acme.xml", submitter().replace(f"      <public-key>{ED25519}</public-key>\n", "")
    )
    problem = only(problems_of(tmp_path), "no credential")
    assert problem.line == 11


def test_duplicates_inside_one_file(tmp_path: Path) -> None:
    text = submitter().replace(
        "  </sftp>", f'    <user name="acme"><public-key>{ED25519}</public-key></user>\n  </sftp>'
    )
    write(
        tmp_path,
        "acme.xml",
        text.replace('id="ACME"/>', 'id="ACME"><usage>T</usage><usage>T</usage></interchange>'),
    )
    problems = problems_of(tmp_path)
    assert {p.line for p in problems} == {6, 14}
    assert all("Duplicate" in p.message for p in problems)


def test_gateway_own_interchange(tmp_path: Path) -> None:
    write(tmp_path, "acme.xml", submitter(isa="CLEARINGHOUSE"))
    assert load_partners(tmp_path)  # without the gateway's id there is nothing to compare
    (problem,) = problems_of(tmp_path, own_interchange=("ZZ", "CLEARINGHOUSE  "))
    assert problem.line == 6
    assert "gateway's own" in problem.message


def test_duplicates_across_files_name_both(tmp_path: Path) -> None:
    first = write(tmp_path, "a.xml", submitter("acme", isa="ACME", user="acme"))
    second = write(tmp_path, "b.xml", submitter("acme", isa="ACME", user="acme"))
    write(tmp_path, "c.xml", payer("pay1", isa="PAY1", payer_id="SAME"))
    write(tmp_path, "d.xml", payer("pay2", isa="PAY2", payer_id="SAME"))
    problems = problems_of(tmp_path)
    by_message = {p.message.split(":")[0]: p for p in problems}
    assert set(by_message) == {
        "duplicate partner id 'acme'",
        "duplicate interchange ZZ/ACME",
        "duplicate SFTP user 'acme'",
        "duplicate payer id 'SAME'",
    }
    assert by_message["duplicate partner id 'acme'"] == Problem(
        str(second), 2, f"duplicate partner id 'acme': also in {first}:2"
    )
    assert by_message["duplicate interchange ZZ/ACME"].line == 6
    assert by_message["duplicate SFTP user 'acme'"].line == 11
    payer_problem = by_message["duplicate payer id 'SAME'"]
    assert payer_problem.file.endswith("d.xml") and payer_problem.line == 8
    assert payer_problem.message.endswith("c.xml:8")


def test_many_problems_across_files_at_once(demo: Path) -> None:
    billing = demo / "demo-billing.xml"
    billing.write_text(billing.read_text().replace("<role>submitter</role>", "<role>payer</role>"))
    sim02 = demo / "sim02.xml"
    sim02.write_text(sim02.read_text().replace("SIM02PAYER", "SIM01PAYER"))
    ext01 = demo / "ext01.xml"
    ext01.write_text(ext01.read_text().replace("</partner>", "</partner"))
    write(demo, "extra.xml", submitter("extra", npi="1234567890", user="ext02"))
    write(demo, "notes.txt", "not a profile")
    write(demo, ".#editor-temp.xml", "<not xml")

    problems = problems_of(demo)
    files = {Path(p.file).name for p in problems}
    assert files == {"demo-billing.xml", "sim02.xml", "ext01.xml", "extra.xml"}
    assert all(p.line is not None for p in problems)
    assert "XML syntax error" in only(problems, "XML syntax").message
    assert only(problems, "not a valid NPI").file.endswith("extra.xml")
    assert only(problems, "duplicate interchange ZZ/SIM01PAYER").message.endswith("sim01.xml:10")
    # problems are sorted by file then line
    assert problems == sorted(problems, key=lambda p: (p.file, p.line or 0))


# ---------------------------------------------------------------- AS2 (room for later)


def _certificate(path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acme as2 test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


AS2 = """
  <as2 name="ACME AS2" url="https://acme.example/as2">
    <certificate file="certs/acme.pem"/>
    <require-signature>true</require-signature>
    <require-encryption>false</require-encryption>
  </as2>"""


def test_as2_identity(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    _certificate(tmp_path / "certs" / "acme.pem")
    write(tmp_path, "acme.xml", submitter(extra=AS2))
    as2 = load_partners(tmp_path).partners["acme"].as2
    assert as2 is not None
    assert (as2.name, as2.url) == ("ACME AS2", "https://acme.example/as2")
    assert as2.certificates == (str((tmp_path / "certs" / "acme.pem").resolve()),)
    assert (as2.require_signature, as2.require_encryption) == (True, False)


def test_as2_ciphers_and_async_mdn_urls(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    _certificate(tmp_path / "certs" / "acme.pem")
    write(tmp_path, "acme.xml", submitter(extra=AS2))
    as2 = load_partners(tmp_path).partners["acme"].as2
    assert as2 is not None and (as2.ciphers, as2.async_mdn_urls) == ((), ())
    listed = AS2.replace(
        "</require-encryption>",
        "</require-encryption>\n    <cipher>aes256-cbc</cipher>\n    <cipher>des-ede3-cbc</cipher>"
        "\n    <async-mdn-url>https://acme.example/as2/mdn/</async-mdn-url>"
        "\n    <async-mdn-url>https://mdn.acme.example/receipts</async-mdn-url>",
    )
    write(tmp_path, "acme.xml", submitter(extra=listed))
    as2 = load_partners(tmp_path).partners["acme"].as2
    assert as2 is not None
    assert as2.ciphers == ("aes256-cbc", "des-ede3-cbc")
    assert as2.async_mdn_urls == (
        "https://acme.example/as2/mdn/",
        "https://mdn.acme.example/receipts",
    )
    for bad in (
        "<cipher>rc2-40</cipher>",
        "<cipher>des-cbc</cipher>",
        "<async-mdn-url>ftp://x/</async-mdn-url>",
    ):
        text = AS2.replace("</require-encryption>", "</require-encryption>\n    " + bad)
        write(tmp_path, "acme.xml", submitter(extra=text))
        assert problems_of(tmp_path), bad


def test_as2_bad_certificates(tmp_path: Path) -> None:
    write(tmp_path, "acme.xml", submitter(extra=AS2))
    assert only(problems_of(tmp_path), "certs/acme.pem").line == 16
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "acme.pem").write_text("-----BEGIN CERTIFICATE-----\nnope\n")
    assert "not a PEM or DER" in only(problems_of(tmp_path), "certs/acme.pem").message


# ---------------------------------------------------------------- check_all


def test_check_all_demo_is_clean() -> None:
    assert check_all(None, None, env={}) == []


def test_check_all_reports_config_and_partners_together(tmp_path: Path, demo: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[gateway]\ninterchange_id = "DEMOBILLING"\n[http]\nlisten = "nope:1"\n')
    ext01 = demo / "ext01.xml"
    ext01.write_text(ext01.read_text().replace("<kind>external</kind>", "<kind>provider</kind>"))
    problems = check_all(config, demo, env={})
    assert [(Path(p.file).name, p.line) for p in problems] == [
        ("gateway.toml", 4),  # bad endpoint
        ("ext01.xml", 10),  # payer of kind provider
    ]
    # with a good config, its interchange id is compared with the partners'
    config.write_text('[gateway]\ninterchange_id = "DEMOBILLING"\n')
    problems = check_all(config, demo, env={})
    assert [(Path(p.file).name, p.line) for p in problems] == [
        ("demo-billing.xml", 13),
        ("ext01.xml", 10),
    ]
    assert "gateway's own" in problems[0].message


def test_check_all_uses_the_configured_partners_dir(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(f'[gateway]\npartners_dir = "{tmp_path / "elsewhere"}"\n')
    (problem,) = check_all(config, None, env={})
    assert problem.file == str(tmp_path / "elsewhere")
    # unreadable config: the default partners dir is still checked (and is clean)
    problems = check_all(tmp_path / "missing.toml", None, env={})
    assert [p.file for p in problems] == [str(tmp_path / "missing.toml")]


def test_payer_tin_is_optional_and_must_be_nine_digits(tmp_path: Path) -> None:
    text = payer().replace("<payer-ids>", '<payer-ids tin="361234567">')
    write(tmp_path, "pay1.xml", text)
    assert load_partners(tmp_path).partners["pay1"].payer_tin == "361234567"
    write(tmp_path, "pay1.xml", payer().replace("<payer-ids>", '<payer-ids tin="36-1234567">'))
    problem = only(problems_of(tmp_path), "tin")
    assert problem.line == 7


def test_core_endpoint_of_an_external_payer(tmp_path: Path) -> None:
    from gateway.errors import ConfigError

    for name in ("demo-billing.xml", "sim01.xml", "sim02.xml"):
        shutil.copy(PROJECT_ROOT / "partners" / name, tmp_path / name)
    (tmp_path / "ca.pem").write_text("x")
    text = (PROJECT_ROOT / "partners" / "ext01.xml").read_text()
    core = (
        '<core url="https://payer.example/core" password-env="EXT01_PW" timeout="5" ca="ca.pem"/>'
    )
    (tmp_path / "ext01.xml").write_text(text.replace("</partner>", f"  {core}\n</partner>"))
    found = load_partners(str(tmp_path)).partners["ext01"].core
    assert found is not None and found.timeout == 5.0 and found.password_env == "EXT01_PW"
    assert found.ca == str((tmp_path / "ca.pem").resolve()) and not found.client_certificate
    bad = core.replace('ca="ca.pem"', 'client-certificate="nope.pem"')
    (tmp_path / "ext01.xml").write_text(text.replace("</partner>", f"  {bad}\n</partner>"))
    with pytest.raises(ConfigError) as caught:
        load_partners(str(tmp_path))
    text_problems = " ".join(str(p) for p in caught.value.problems)
    assert "nope.pem" in text_problems and "client-key together" in text_problems
