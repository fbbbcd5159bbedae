"""The OpenAPI 3.1 document of ``/api/v1``, served at ``/api/v1/openapi.json``.

Built in Python so that the limits it states are the ones in force; the tests check that every
route the resource serves is documented and that answers match the documented schemas.
"""

from __future__ import annotations

from typing import Any

from gateway.api.billing import ERROR_CODES as BILLING_ERRORS
from gateway.api.billing import openapi_paths as billing_paths
from gateway.api.claim_status import openapi_paths as claim_status_paths
from gateway.api.limits import HttpLimits
from gateway.api.remittances import openapi_paths as remittance_paths
from gateway.states import FILE_STATES

#: CAQH CORE's MIME form fields (the required ones: all but PayloadLength, Checksum, Payload).
CORE_FORM_FIELDS = (
    "PayloadType", "ProcessingMode", "PayloadID", "PayloadLength", "TimeStamp", "UserName",
    "Password", "SenderID", "ReceiverID", "CORERuleVersion", "Checksum", "Payload",
)  # fmt: skip
CORE_FORM_REQUIRED = tuple(
    f for f in CORE_FORM_FIELDS if f not in ("PayloadLength", "Checksum", "Payload")
)

REALTIME_MAX_BODY = 1 << 20
"""Real-time bodies (a JSON eligibility request, one 270 interchange) are read into memory."""


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(description: str, ref: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }
    if headers:
        out["headers"] = headers
    return out


_RETRY = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
_CHALLENGE = {
    "WWW-Authenticate": {
        "schema": {"type": "string"},
        "description": 'Bearer realm="edi-gateway"[, error="invalid_token"]',
    }
}


def _common(auth: bool = True) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if auth:
        responses["401"] = {**_error("missing or invalid bearer token"), "headers": _CHALLENGE}
        responses["429"] = {
            **_error("too many concurrent requests of this partner (or uploads from one address)"),
            "headers": _RETRY,
        }
        responses["503"] = {**_error("the gateway is busy"), "headers": _RETRY}
    return responses


def openapi_document(limits: HttpLimits | None = None) -> dict[str, Any]:
    limits = limits or HttpLimits()
    file_id = {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9A-HJKMNP-TV-Z]{26}$"},
        "description": "the file id returned by POST /api/v1/files (a ULID)",
    }
    mailbox_name = {
        "name": "name",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
        "description": "a name from GET /api/v1/mailbox",
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "edi-gateway API",
            "version": "1.0.0",
            "description": (
                "Submit X12 files, follow their acknowledgments and collect the files in your "
                "outbound mailbox. Every operation except this document needs "
                "`Authorization: Bearer <token>` (a per-partner token from the partner "
                "profile). A partner sees only its own files and mailbox: another partner's "
                'file answers 404. Errors are `{"error": code, "message": text}`. '
                f"Request bodies are limited to {limits.max_body} bytes (413, answered before "
                "the body is read); a partner may have "
                f"{limits.max_per_partner} requests in progress at once, uploads still being "
                f"received included (429), the gateway {limits.max_in_flight} (503). An upload "
                "is authenticated from its headers before any of its body is read; one address "
                f"may send {limits.max_uploads_per_address} bodies at once (429), and a body "
                f"slower than {limits.min_body_rate} bytes/s over {limits.body_rate_window:g} s "
                f"is answered 408. A request line over {limits.max_request_line} bytes is "
                f"answered 414, headers over {limits.max_header_bytes} bytes or "
                f"{limits.max_header_fields} fields 431, two Authorization headers 400."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "the OpenAPI document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
            "/api/v1/files": {
                "post": {
                    "operationId": "submitFile",
                    "summary": "Submit an X12 file (the raw request body)",
                    "description": (
                        "The body is stored durably (fsynced, committed) before the answer; "
                        "the file then goes through the same pipeline as an SFTP upload: a "
                        "TA1, 999 or reject report appears in the submitter's mailbox and in "
                        "GET /api/v1/files/{id}."
                    ),
                    "parameters": [
                        {
                            "name": "filename",
                            "in": "query",
                            "required": False,
                            "schema": {"$ref": "#/components/schemas/FileName"},
                            "description": "a name to record with the file (metadata only)",
                        },
                        {
                            "name": "X-Filename",
                            "in": "header",
                            "required": False,
                            "schema": {"$ref": "#/components/schemas/FileName"},
                            "description": "the same as the filename query parameter",
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/edi-x12": {
                                "schema": {"type": "string", "format": "binary"}
                            },
                            "application/octet-stream": {
                                "schema": {"type": "string", "format": "binary"}
                            },
                            "text/plain": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "202": _json(
                            "stored; processing follows",
                            "Submitted",
                            {
                                "Location": {
                                    "schema": {"type": "string"},
                                    "description": "the file's status URL",
                                }
                            },
                        ),
                        "400": _error("empty body, a bad filename or two Authorization headers"),
                        "408": _error("the body arrived too slowly; the connection is closed"),
                        "413": _error(f"the body is over {limits.max_body} bytes"),
                        "507": {**_error("no space to store it: nothing kept"), "headers": _RETRY},
                        **_common(),
                        "503": {
                            **_error(
                                "the gateway is busy, or its database is unreachable "
                                "(store_unavailable): nothing kept"
                            ),
                            "headers": _RETRY,
                        },
                    },
                }
            },
            "/api/v1/files/{id}": {
                "get": {
                    "operationId": "getFile",
                    "summary": "A submitted file's state and the acknowledgments so far",
                    "parameters": [file_id],
                    "responses": {
                        "200": _json("the file", "FileStatus"),
                        "404": _error("no such file of this partner"),
                        **_common(),
                    },
                }
            },
            "/api/v1/eligibility": {
                "post": {
                    "operationId": "checkEligibility",
                    "summary": "Real-time eligibility (270/271) in JSON: Change Healthcare / "
                    "Stedi field names in, a readable answer out (a simulated payer answers "
                    "here; an external payer with a CORE endpoint is asked there, AAA 42 "
                    "when it does not answer within its budget)",
                    "parameters": [
                        {
                            "name": "include",
                            "in": "query",
                            "required": False,
                            "schema": {"const": "x12"},
                            "description": "x12: add the raw 271 interchange (field x12)",
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/EligibilityRequest"}
                            }
                        },
                    },
                    "responses": {
                        "200": _json(
                            "the answer (coverageStatus active, inactive, or error with AAA "
                            "errors)",
                            "EligibilityAnswer",
                        ),
                        "400": _error("bad JSON, or a field missing or wrong (named)"),
                        "413": _error(f"the body is over {REALTIME_MAX_BODY} bytes"),
                        **_common(),
                    },
                }
            },
            "/api/v1/x12": {
                "post": {
                    "operationId": "realTimeX12",
                    "summary": "Real-time X12: one 270 (276) interchange in, the 271 (277) "
                    "interchange out (for an external payer with a CORE endpoint: its 271, "
                    "forwarded; no answer in time: AAA 42)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/edi-x12": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "the 271 interchange (one 271 per 270 set), or the "
                            "277 X212 (one 277 per 276 set: each claim's status)",
                            "content": {"application/edi-x12": {"schema": {"type": "string"}}},
                        },
                        "400": _error(
                            "empty, not X12, more than one interchange, a set that is not "
                            "an inquiry (270 005010X279A1, 276 005010X212), or two kinds in one"
                        ),
                        "413": _error(f"the body is over {REALTIME_MAX_BODY} bytes"),
                        "422": {
                            "description": "the 270/276 fails the envelope or the guide: the "
                            "TA1 / 999 rejection, as X12",
                            "content": {"application/edi-x12": {"schema": {"type": "string"}}},
                        },
                        **_common(),
                    },
                }
            },
            "/core": {
                "get": {
                    "operationId": "coreWsdl",
                    "summary": "CAQH CORE Connectivity vC2.2.0: the WSDL (GET /core?wsdl)",
                    "security": [],
                    "parameters": [
                        {
                            "name": "wsdl",
                            "in": "query",
                            "required": True,
                            "allowEmptyValue": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "the WSDL (SOAP 1.2, document/literal; operations "
                            "RealTimeTransaction, BatchSubmitTransaction, "
                            "BatchResultsRetrievalTransaction)",
                            "content": {"text/xml": {"schema": {"type": "string"}}},
                        }
                    },
                },
                "post": {
                    "operationId": "coreEnvelope",
                    "summary": "CAQH CORE Connectivity vC2.2.0: a SOAP 1.2 envelope "
                    "(WS-Security UsernameToken) or MIME form fields; user name = partner id, "
                    "password = one of its API tokens. RealTime 270 -> 271 in the same "
                    "exchange; Batch stores the payload as a file (999 and _271.x12 follow in "
                    "the mailbox); BatchResultsRetrieval returns the oldest waiting 271 file",
                    "security": [],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/soap+xml": {"schema": {"type": "string"}},
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": list(CORE_FORM_REQUIRED),
                                    "properties": {k: {"type": "string"} for k in CORE_FORM_FIELDS},
                                }
                            },
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "the CORE answer in the request's envelope: "
                            "ErrorCode Success with the 271 (or the TA1/999 of a request "
                            "failing the envelope or guide, or the batch receipt), or a CORE "
                            "ErrorCode (PayloadTypeIllegal, PayloadIDRequired, "
                            "PayloadIDIllegal, SenderIDIllegal, ReceiverIDIllegal, "
                            "VersionMismatch, ChecksumMismatch, ...) with ErrorMessage",
                            "content": {
                                "application/soap+xml": {"schema": {"type": "string"}},
                                "multipart/form-data": {"schema": {"type": "object"}},
                            },
                        },
                        "400": {"description": "not a CORE envelope (SOAP Fault, or text)"},
                        "401": {
                            "description": "UnAuthorized (SOAP Fault "
                            "wsse:FailedAuthentication, or MIME ErrorCode UnAuthorized)"
                        },
                        "415": {"description": "neither SOAP 1.2 nor multipart/form-data"},
                        "429": {
                            "description": "over this partner's share (ErrorCode "
                            "Unavailable), with Retry-After",
                            "headers": _RETRY,
                        },
                    },
                },
            },
            "/api/v1/mailbox": {
                "get": {
                    "operationId": "listMailbox",
                    "summary": "The files waiting in this partner's outbound mailbox",
                    "responses": {"200": _json("the mailbox", "Mailbox"), **_common()},
                }
            },
            "/api/v1/mailbox/{name}": {
                "get": {
                    "operationId": "downloadMailboxFile",
                    "summary": "Download a mailbox file (streamed)",
                    "parameters": [mailbox_name],
                    "responses": {
                        "200": {
                            "description": "the file's bytes; ETag is its sha256",
                            "content": {
                                "application/edi-x12": {
                                    "schema": {"type": "string", "format": "binary"}
                                },
                                "text/plain": {"schema": {"type": "string"}},
                            },
                        },
                        "404": _error("no such file in this partner's mailbox"),
                        **_common(),
                    },
                },
                "delete": {
                    "operationId": "pickUpMailboxFile",
                    "summary": "Acknowledge pickup: the file leaves the mailbox",
                    "parameters": [mailbox_name],
                    "responses": {
                        "204": {"description": "picked up"},
                        "404": _error("no such file in this partner's mailbox"),
                        **_common(),
                    },
                },
            },
            **remittance_paths(_common()),
            **claim_status_paths(_common(), REALTIME_MAX_BODY),
            **billing_paths(_common()),
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`<token id>.<secret>`; the profile keeps its SHA-256",
                }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": {
                            "type": "string",
                            "description": "a stable code",
                            "enum": [
                                "bad_filename",
                                "bad_json",
                                "empty_body",
                                "invalid_field",
                                "internal_error",
                                "method_not_allowed",
                                "not_a_270",
                                "not_found",
                                "payload_too_large",
                                "request_timeout",
                                "too_many_requests",
                                "unauthorized",
                                "unavailable",
                                *BILLING_ERRORS,
                            ],
                        },
                        "message": {"type": "string"},
                    },
                },
                "FileName": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9][A-Za-z0-9._\\-]{0,199}$",
                },
                "Submitted": {
                    "type": "object",
                    "required": ["file_id", "state", "status_url"],
                    "properties": {
                        "file_id": {"type": "string"},
                        "state": {"const": "received"},
                        "status_url": {"type": "string"},
                    },
                },
                "Acknowledgment": {
                    "type": "object",
                    "required": ["kind", "accepted", "mailbox_name"],
                    "properties": {
                        "kind": {
                            "type": "string",
                            "description": "TA1, 999, 277CA, REJECT (a plain-text report for "
                            "a file that is not X12); more as the pipeline grows",
                        },
                        "accepted": {"type": "boolean"},
                        "mailbox_name": {"type": ["string", "null"]},
                        "interchange_control": {"type": ["string", "null"]},
                        "ack_control": {"type": ["string", "null"]},
                    },
                },
                "FileStatus": {
                    "type": "object",
                    "required": ["file_id", "state", "acknowledgments"],
                    "properties": {
                        "file_id": {"type": "string"},
                        "name": {"type": "string"},
                        "channel": {"type": "string"},
                        "size": {"type": "integer"},
                        "sha256": {"type": "string"},
                        "received_at": {"type": "string", "format": "date-time"},
                        "state": {
                            "type": "string",
                            "enum": list(FILE_STATES),
                            "description": "; ".join(f"{k}: {v}" for k, v in FILE_STATES.items()),
                        },
                        "acknowledgments": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Acknowledgment"},
                        },
                    },
                },
                "MailboxFile": {
                    "type": "object",
                    "required": ["name", "kind", "size", "created_at"],
                    "properties": {
                        "name": {"type": "string"},
                        "kind": {
                            "type": "string",
                            "description": "TA1, 999, 277CA, 835, 271, 277, REPORT...; 277RFAI: "
                            "a payer's request for more information (005010X213), answered "
                            "with a 275 (005010X210) uploaded like any file; 275: an "
                            "attachment for an external payer",
                        },
                        "size": {"type": "integer"},
                        "created_at": {"type": "string", "format": "date-time"},
                        "file_id": {"type": ["string", "null"]},
                        "sha256": {"type": "string"},
                    },
                },
                "EligibilityRequest": {
                    "type": "object",
                    "required": ["tradingPartnerServiceId", "provider", "subscriber"],
                    "properties": {
                        "tradingPartnerServiceId": {"type": "string", "description": "payer ID"},
                        "provider": {
                            "type": "object",
                            "required": ["npi"],
                            "properties": {
                                "npi": {"type": "string", "pattern": "^[0-9]{10}$"},
                                "organizationName": {"type": "string"},
                                "firstName": {"type": "string"},
                                "lastName": {"type": "string"},
                            },
                        },
                        "subscriber": {"$ref": "#/components/schemas/EligibilityPerson"},
                        "dependents": {
                            "type": "array",
                            "maxItems": 1,
                            "items": {"$ref": "#/components/schemas/EligibilityPerson"},
                        },
                        "encounter": {
                            "type": "object",
                            "properties": {
                                "serviceTypeCodes": {
                                    "type": "array",
                                    "items": {"type": "string", "pattern": "^[0-9A-Z]{1,2}$"},
                                    "description": "X12 1365 codes; default [30]",
                                },
                                "dateOfService": {"type": "string", "pattern": "^[0-9]{8}$"},
                            },
                        },
                        "includeX12": {"type": "boolean"},
                    },
                },
                "EligibilityPerson": {
                    "type": "object",
                    "properties": {
                        "memberId": {"type": "string"},
                        "firstName": {"type": "string"},
                        "lastName": {"type": "string"},
                        "dateOfBirth": {"type": "string", "pattern": "^[0-9]{8}$"},
                    },
                },
                "EligibilityAnswer": {
                    "type": "object",
                    "required": ["tradingPartnerServiceId", "coverageStatus", "errors"],
                    "properties": {
                        "tradingPartnerServiceId": {"type": "string"},
                        "controlNumber": {"type": "string", "description": "TRN02 of the 271"},
                        "coverageStatus": {"enum": ["active", "inactive", "error"]},
                        "payer": {"type": "object"},
                        "provider": {"type": "object"},
                        "subscriber": {"type": "object"},
                        "dependent": {"type": "object"},
                        "errors": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["code", "description"],
                                "properties": {
                                    "code": {"type": "string", "description": "AAA03"},
                                    "description": {"type": "string"},
                                    "loop": {"type": "string"},
                                    "followupAction": {"type": "string"},
                                },
                            },
                        },
                        "plan": {"type": "object"},
                        "serviceTypes": {
                            "type": "array",
                            "items": {"type": "object"},
                            "description": "per service type in plain words: status, copay, "
                            "coinsurancePercent, deductible, deductibleRemaining, "
                            "outOfPocketMax, outOfPocketRemaining",
                        },
                        "benefits": {
                            "type": "array",
                            "items": {"type": "object"},
                            "description": "the 271's EB segments, one object each",
                        },
                        "x12": {"type": "string", "description": "the 271 (?include=x12)"},
                    },
                },
                "Mailbox": {
                    "type": "object",
                    "required": ["partner", "files"],
                    "properties": {
                        "partner": {"type": "string"},
                        "files": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/MailboxFile"},
                        },
                    },
                },
            },
        },
    }
