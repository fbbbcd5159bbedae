"""CAQH CORE Connectivity vC2.2.0, PURE (no Twisted, no I/O): the envelopes (SOAP 1.2 with
WS-Security UsernameToken, and HTTP MIME multipart form fields), their checks and CORE error
codes (:mod:`gateway.caqh.envelope`), the WSDL (:mod:`gateway.caqh.wsdl`) and the PayloadType
registry (:mod:`gateway.caqh.payloads`). The HTTP edge is :mod:`gateway.api.core`."""
