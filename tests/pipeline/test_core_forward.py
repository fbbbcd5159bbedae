"""Real-time 270s for an external payer with a CORE endpoint: forwarded in a CORE SOAP
envelope to a small CORE payer endpoint stood up here; a slow or failing endpoint → AAA 42
within the (short, for the test) budget."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.web import resource, server

from gateway.caqh.envelope import (
    Operation,
    parse_soap,
    response_for,
    soap_fault,
    soap_response,
)
from gateway.config import PROJECT_ROOT
from gateway.profiles import CoreEndpoint, PartnerSet, load_partners
from gateway.x12.claims import iter_transaction_sets
from gateway.x12.eligibility import (
    Benefit,
    EligibilityAnswer,
    Envelope,
    SetAnswers,
    build_271,
    read_270,
)
from tests.api.conftest import MakeApi, bearer, make_api  # noqa: F401 (fixture)
from tests.api.test_eligibility import no_phi
from tests.payers.test_eligibility import validate_271
from tests.pipeline.test_inquiries import file_270, one_set


class PayerEndpoint(resource.Resource):
    """A CORE payer: answers each 270 with an active 271; ``mode`` slow/fault/error."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.mode = "ok"
        self.seen: list[Any] = []

    def render_POST(self, request: Any) -> Any:
        parsed = parse_soap(request.content.read())
        self.seen.append(parsed)
        request.setHeader(b"content-type", b"application/soap+xml")
        if self.mode == "slow":
            return server.NOT_DONE_YET  # never answers
        if self.mode == "fault":
            request.setResponseCode(400)
            return soap_fault("UnAuthorized: no", core_code="UnAuthorized")
        payload = parsed.payload or b""
        sets = []
        for ts in iter_transaction_sets(payload):
            answers = tuple(
                EligibilityAnswer(r, payer_name="EXTERNAL PAYER", active=True,
                                  plan_name="EXT GOLD", benefits=(Benefit("1", ("30",)),))
                for r in read_270(ts.segments, ts.delimiters)
            )  # fmt: skip
            sets.append(SetAnswers(answers[0].request.reference, answers))
        now = datetime(2026, 6, 1, tzinfo=UTC)
        x12 = build_271(sets, Envelope("ZZ", "EXT01PAYER", "ZZ", "CLEARINGHOUSE", 77, "T", now))
        answer = response_for(parsed, Operation.REALTIME, gateway_id="EXT01",
                              now=now, payload_type="X12_271_Response_005010X279A1",
                              payload=x12)  # fmt: skip
        return soap_response(answer)


async def setup(
    make: MakeApi, timeout: float, endpoint: Any = None
) -> tuple[Any, PayerEndpoint, Any]:
    """The API with ext01 given a CORE endpoint: ``endpoint`` (a 270 payer by default)."""
    endpoint = endpoint or PayerEndpoint()
    port = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(server.Site(endpoint))
    partners = load_partners(PROJECT_ROOT / "partners")
    url = f"http://127.0.0.1:{port.getHost().port}/core"
    ext = dataclasses.replace(
        partners.partners["ext01"], core=CoreEndpoint(url, "CLEARINGHOUSE", "", timeout)
    )
    api = await make(partners=PartnerSet({**partners.partners, "ext01": ext}))
    return api, endpoint, port


def ext_270(control: int) -> bytes:
    return file_270(one_set("0001", "FWD-1", "MBR123456780", payer="EXT01"), control=control)


@pytest_twisted.ensureDeferred
async def test_forwarded_to_the_payers_core_endpoint(make_api: MakeApi) -> None:  # noqa: F811
    api, endpoint, port = await setup(make_api, timeout=5.0)
    try:
        answer = await api.call("POST", "/api/v1/x12", ext_270(6601), bearer())
        assert answer.status == 200, answer.body
        assert validate_271(answer.body) == []
        assert b"EXTERNAL PAYER" in answer.body and b"TRN*2*FWD-1*" in answer.body
        assert b"*ZZ*CLEARINGHOUSE  *ZZ*DEMOBILLING    *" in answer.body
        (seen,) = endpoint.seen
        assert seen.get("ReceiverID") == "EXT01" and seen.username == "CLEARINGHOUSE"
        assert b"*ZZ*EXT01PAYER     *" in (seen.payload or b"")
        assert b"GS*HS*CLEARINGHOUSE*EXT01PAYER*" in (seen.payload or b"")
        (event,) = api.named("eligibility.answered")
        assert event["outcome"] == "forwarded" and event["trn02"] == "FWD-1"
        no_phi(api.events)
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_timeout_and_faults_answer_aaa_42(make_api: MakeApi) -> None:  # noqa: F811
    api, endpoint, port = await setup(make_api, timeout=0.3)
    try:
        for n, mode in enumerate(("slow", "fault")):
            endpoint.mode = mode
            answer = await api.call("POST", "/api/v1/x12", ext_270(6610 + n), bearer())
            assert answer.status == 200, answer.body
            assert validate_271(answer.body) == []
            assert b"AAA*Y**42*" in answer.body or b"AAA*N**42*" in answer.body
        reasons = [e["reason"] for e in api.named("eligibility.forward.failed")]
        assert reasons[0] == "no answer within 0.3 s" and reasons[1].startswith("SOAP fault")
        assert [e["outcome"] for e in api.named("eligibility.answered")] == ["aaa:42"] * 2
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_json_requests_are_forwarded_as_270s(make_api: MakeApi) -> None:  # noqa: F811
    import json

    from tests.api.test_eligibility import REQUEST

    api, endpoint, port = await setup(make_api, timeout=5.0)
    headers = {**bearer(), "Content-Type": "application/json"}
    body = json.dumps({**REQUEST, "tradingPartnerServiceId": "EXT01"}).encode()
    try:
        answer = await api.call("POST", "/api/v1/eligibility?include=x12", body, headers)
        assert answer.status == 200, answer.body
        found = answer.json()
        assert found["coverageStatus"] == "active"
        assert found["payer"]["name"] == "EXTERNAL PAYER"
        assert validate_271(found["x12"].encode()) == []
        (seen,) = endpoint.seen
        sent = seen.payload or b""
        assert b"ST*270*" in sent and b"*ZZ*EXT01PAYER     *" in sent
        assert validate_270(sent) == []
        endpoint.mode = "slow"
        answer = await api.call("POST", "/api/v1/eligibility", body, headers)
        assert [e["code"] for e in answer.json()["errors"]] == ["42"]
        outcomes = [e["outcome"] for e in api.named("eligibility.answered")]
        assert outcomes == ["active", "aaa:42"]
        no_phi(api.events)
    finally:
        await port.stopListening()


def validate_270(content: bytes) -> list[object]:
    from gateway.x12.eligibility import GUIDE
    from tests.payers.test_eligibility import VALIDATOR

    errors: list[object] = []
    for ts in iter_transaction_sets(content):
        found, _ = VALIDATOR.validate(list(ts.segments), ts.delimiters, GUIDE)
        errors += found
    return errors


def _pki(tmp: Any) -> dict[str, Any]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate (PEM files)."""
    import ipaddress
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)

    def make(name: str, issuer: Any = None, ca: bool = False, san: Any = None) -> Any:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer[0].subject if issuer else subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if san is not None:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
        pem_key = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())  # fmt: skip
        return cert, key, cert.public_bytes(serialization.Encoding.PEM), pem_key

    ca = make("test ca", ca=True)
    server = make("payer", (ca[0], ca[1]), san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    client = make("clearinghouse", (ca[0], ca[1]))
    files = {}
    for label, item in (("ca", ca), ("server", server), ("client", client)):
        (tmp / f"{label}.crt").write_bytes(item[2])
        (tmp / f"{label}.key").write_bytes(item[3])
        files[label] = item
    return files


@pytest_twisted.ensureDeferred
async def test_mutual_tls_to_the_payer(make_api: MakeApi, tmp_path: Any) -> None:  # noqa: F811
    from twisted.internet import ssl
    from twisted.internet.endpoints import SSL4ServerEndpoint

    pki = _pki(tmp_path)
    server_cert = ssl.PrivateCertificate.loadPEM(pki["server"][2] + pki["server"][3])
    options = server_cert.options(ssl.Certificate.loadPEM(pki["ca"][2]))  # client cert required
    endpoint = PayerEndpoint()
    port = await SSL4ServerEndpoint(reactor, 0, options, interface="127.0.0.1").listen(
        server.Site(endpoint)
    )
    partners = load_partners(PROJECT_ROOT / "partners")
    url = f"https://127.0.0.1:{port.getHost().port}/core"

    async def ask(core: CoreEndpoint, control: int) -> bytes:
        ext = dataclasses.replace(partners.partners["ext01"], core=core)
        api = await make_api(partners=PartnerSet({**partners.partners, "ext01": ext}))
        return (await api.call("POST", "/api/v1/x12", ext_270(control), bearer())).body

    try:
        mutual = CoreEndpoint(url, "CLEARINGHOUSE", "", 5.0, str(tmp_path / "client.crt"),
                              str(tmp_path / "client.key"), str(tmp_path / "ca.crt"))  # fmt: skip
        body = await ask(mutual, 6621)
        assert b"EXTERNAL PAYER" in body and len(endpoint.seen) == 1
        no_client = dataclasses.replace(mutual, client_certificate="", client_key="")
        body = await ask(no_client, 6622)  # the payer refuses the handshake: AAA 42
        assert b"AAA*Y**42*" in body and len(endpoint.seen) == 1
    finally:
        await port.stopListening()
