"""The WSDL of ``/core`` (``GET /core?wsdl``): CORE Connectivity vC2.2.0's three operations
(RealTimeTransaction, BatchSubmitTransaction, BatchResultsRetrievalTransaction) over one SOAP
1.2 document/literal binding, with the envelope schema inline (namespace
:data:`gateway.caqh.envelope.CORE_NS`, children unqualified). Written here from the CORE rule's
element lists; RealTime payloads are text, Batch payloads ``xs:base64Binary`` (no MTOM)."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from gateway.caqh.envelope import CORE_NS

_META = """
        <xsd:element name="PayloadType" type="xsd:string"/>
        <xsd:element name="ProcessingMode" type="xsd:string"/>
        <xsd:element name="PayloadID" type="xsd:string"/>{length}
        <xsd:element name="TimeStamp" type="xsd:string"/>
        <xsd:element name="SenderID" type="xsd:string"/>
        <xsd:element name="ReceiverID" type="xsd:string"/>
        <xsd:element name="CORERuleVersion" type="xsd:string"/>{checksum}"""
_LENGTH = '\n        <xsd:element name="PayloadLength" type="xsd:int" minOccurs="0"/>'
_CHECKSUM = '\n        <xsd:element name="CheckSum" type="xsd:string" minOccurs="0"/>'
_ERRORS = """
        <xsd:element name="ErrorCode" type="xsd:string"/>
        <xsd:element name="ErrorMessage" type="xsd:string"/>"""


def _element(name: str, payload: str, *, batch: bool, errors: bool, payload_min: str) -> str:
    meta = _META.format(length=_LENGTH if batch else "", checksum=_CHECKSUM if batch else "")
    payload_el = (
        f'\n        <xsd:element name="Payload" type="xsd:{payload}" minOccurs="{payload_min}"/>'
    )
    return (
        f'  <xsd:element name="{name}">\n    <xsd:complexType>\n      <xsd:sequence>'
        f"{meta}{payload_el}{_ERRORS if errors else ''}\n"
        "      </xsd:sequence>\n    </xsd:complexType>\n  </xsd:element>\n"
    )


_OPERATIONS = (
    ("RealTimeTransaction", "COREEnvelopeRealTimeRequest", "COREEnvelopeRealTimeResponse"),
    ("BatchSubmitTransaction", "COREEnvelopeBatchSubmission",
     "COREEnvelopeBatchSubmissionResponse"),
    ("BatchResultsRetrievalTransaction", "COREEnvelopeBatchResultsRetrievalRequest",
     "COREEnvelopeBatchResultsRetrievalResponse"),
)  # fmt: skip


def wsdl(location: str) -> bytes:
    schema = "".join(
        [
            _element("COREEnvelopeRealTimeRequest", "string", batch=False, errors=False,
                     payload_min="1"),
            _element("COREEnvelopeRealTimeResponse", "string", batch=False, errors=True,
                     payload_min="0"),
            _element("COREEnvelopeBatchSubmission", "base64Binary", batch=True, errors=False,
                     payload_min="1"),
            _element("COREEnvelopeBatchSubmissionResponse", "base64Binary", batch=True,
                     errors=True, payload_min="0"),
            _element("COREEnvelopeBatchResultsRetrievalRequest", "base64Binary", batch=True,
                     errors=False, payload_min="0"),
            _element("COREEnvelopeBatchResultsRetrievalResponse", "base64Binary", batch=True,
                     errors=True, payload_min="0"),
        ]
    )  # fmt: skip
    messages = "".join(
        f'  <message name="{op}Request"><part name="body" element="CORE:{req}"/></message>\n'
        f'  <message name="{op}Response"><part name="body" element="CORE:{resp}"/></message>\n'
        for op, req, resp in _OPERATIONS
    )
    port_ops = "".join(
        f'    <operation name="{op}"><input message="tns:{op}Request"/>'
        f'<output message="tns:{op}Response"/></operation>\n'
        for op, _, _ in _OPERATIONS
    )
    binding_ops = "".join(
        f'    <operation name="{op}">\n'
        f'      <soap12:operation soapAction="{op}" style="document"/>\n'
        '      <input><soap12:body use="literal"/></input>\n'
        '      <output><soap12:body use="literal"/></output>\n'
        "    </operation>\n"
        for op, _, _ in _OPERATIONS
    )
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="http://www.caqh.org/SOAP/WSDL/"
    xmlns:CORE="{CORE_NS}"
    name="CORERule2.2.0" targetNamespace="http://www.caqh.org/SOAP/WSDL/">
  <types>
<xsd:schema targetNamespace="{CORE_NS}" elementFormDefault="unqualified">
{schema}</xsd:schema>
  </types>
{messages}  <portType name="CORETransactions">
{port_ops}  </portType>
  <binding name="CoreSoapBinding" type="tns:CORETransactions">
    <soap12:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
{binding_ops}  </binding>
  <service name="CoreService">
    <port binding="tns:CoreSoapBinding" name="CoreSoapPort">
      <soap12:address location={quoteattr(location)}/>
    </port>
  </service>
</definitions>
"""
    return text.encode("utf-8")
