"""Plain words for the common claim adjustment group codes, CARCs and RARCs.

A small maintained table (not the full code lists): every code the gateway's simulated payers
use (gateway/payers/adjudicate.py; a test keeps them covered) and the ones most often seen on
remittances. Source: the X12 code lists maintained by
the Claim Adjustment Status Code Maintenance Committee and CMS
(https://x12.org/codes/claim-adjustment-reason-codes,
https://x12.org/codes/remittance-advice-remark-codes), wording shortened for a billing
office. A code not in the table reads as ``CARC <code>`` / ``RARC <code>``: look it up there.
"""

from __future__ import annotations

GROUPS: dict[str, str] = {
    "CO": "Contractual obligation (provider write-off, not billed to the patient)",
    "PR": "Patient responsibility",
    "OA": "Other adjustment",
    "PI": "Payer initiated reduction",
    "CR": "Correction or reversal",
}

CARC: dict[str, str] = {
    "1": "Deductible amount",
    "2": "Coinsurance amount",
    "3": "Co-payment amount",
    "4": "Procedure code inconsistent with the modifier, or modifier missing",
    "5": "Procedure code or bill type inconsistent with the place of service",
    "11": "Diagnosis inconsistent with the procedure",
    "16": "Claim/service lacks information or has submission/billing errors",
    "18": "Exact duplicate claim/service",
    "22": "May be covered by another payer (coordination of benefits)",
    "23": "Impact of prior payer(s) adjudication",
    "26": "Expenses incurred before coverage began",
    "27": "Expenses incurred after coverage terminated",
    "29": "The time limit for filing has expired",
    "31": "Patient cannot be identified as our insured",
    "45": "Charge exceeds fee schedule / maximum allowable",
    "50": "Not deemed a medical necessity by the payer",
    "96": "Non-covered charge(s)",
    "97": "Included in the payment for another service already adjudicated",
    "109": "Not covered by this payer/contractor",
    "119": "Benefit maximum for this time period has been reached",
    "131": "Claim specific negotiated discount",
    "129": "Prior processing information appears incorrect",
    "151": "Payment adjusted: the payer deems the information does not support this many services",
    "167": "This diagnosis is not covered",
    "181": "Procedure code was invalid on the date of service",
    "197": "Precertification/authorization/notification absent",
    "204": "Service not covered under the patient's current benefit plan",
    "242": "Services not provided by network/primary care providers",
    "252": ("An attachment/other documentation is required to adjudicate this claim/service"),
    "253": "Sequestration: reduction of federal payment",
}

RARC: dict[str, str] = {
    "M52": "Missing/incomplete/invalid 'from' date(s) of service",
    "M54": "Missing/incomplete/invalid total charges",
    "M62": "Missing/incomplete/invalid treatment authorization code",
    "M76": "Missing/incomplete/invalid diagnosis or condition",
    "M79": "Missing/incomplete/invalid charge",
    "M15": "Separately billed services/tests have been bundled",
    "M80": "Not covered when performed during the same session as another service",
    "M127": "Missing patient medical record for this service",
    "MA01": "You may appeal this decision in writing within the required time limits",
    "MA130": "Claim has incomplete/invalid information; submit a new claim with the correction",
    "N4": "Missing/incomplete/invalid prior insurance carrier EOB",
    "N20": "Service not payable with other service rendered on the same date",
    "N30": "Patient ineligible for this service",
    "N54": "Claim information is inconsistent with pre-certified/authorized services",
    "N130": "Consult plan benefit documents/guidelines for coverage information",
    "N290": "Missing/incomplete/invalid rendering provider identifier",
    "N362": "The number of days or units of service exceeds the acceptable maximum",
    "N706": "Missing documentation",
    "N517": "Resubmit a new claim with the requested information",
}

PLB_REASONS: dict[str, str] = {
    "WO": "Overpayment recovery",
    "FB": "Forwarding balance",
    "L6": "Interest owed",
    "72": "Authorized return",
    "CS": "Adjustment",
    "J1": "Nonreimbursable",
    "B2": "Rebate",
    "WU": "Unspecified recovery",
}


CORRECTED = "corrected claim"
VOID = "void"
APPEAL = "appeal"
BILL_PATIENT = "bill the patient"
WRITE_OFF = "write off"

NEXT_STEPS: dict[str, tuple[str, str]] = {
    "4": (CORRECTED, "Fix the modifier and send a corrected claim (frequency 7)"),
    "5": (CORRECTED, "Fix the place of service and send a corrected claim (frequency 7)"),
    "11": (
        CORRECTED,
        "Check the diagnosis pointed to; send a corrected claim (frequency 7) "
        "with the diagnosis that supports the service",
    ),
    "16": (
        CORRECTED,
        "Add the missing information (see the remarks) and send a corrected claim (frequency 7)",
    ),
    "18": (
        VOID,
        "A duplicate: if it was sent twice by mistake, void it (frequency 8); if the "
        "service was really done twice, send a corrected claim with a modifier",
    ),
    "22": (
        CORRECTED,
        "Another payer is primary: bill it first, then send a corrected claim "
        "(frequency 7) with its payment (COB)",
    ),
    "26": (
        BILL_PATIENT,
        "Not covered yet on the date of service: verify eligibility; bill the "
        "right payer or the patient",
    ),
    "27": (
        BILL_PATIENT,
        "Coverage had ended: verify eligibility; bill the patient's new payer or the patient",
    ),
    "29": (
        APPEAL,
        "Appeal with proof of timely filing (e.g. the 999/277CA of the first "
        "submission); else write it off",
    ),
    "31": (
        CORRECTED,
        "Check the member ID and name against the insurance card; send a "
        "corrected claim (frequency 7)",
    ),
    "50": (APPEAL, "Appeal with the medical records that show the service was necessary"),
    "96": (
        BILL_PATIENT,
        "Not covered by the plan: bill the patient if they agreed in advance "
        "(waiver/ABN), else write it off",
    ),
    "97": (
        WRITE_OFF,
        "Bundled into another service: write it off (or correct the coding "
        "with a modifier if it was distinct)",
    ),
    "109": (VOID, "Not this payer's claim: void it (frequency 8) and bill the right payer"),
    "119": (BILL_PATIENT, "The benefit maximum was reached: bill the patient"),
    "151": (APPEAL, "Appeal with the documentation that supports the number of services"),
    "167": (
        APPEAL,
        "Appeal with the records supporting the diagnosis, or bill the patient if "
        "they agreed in advance",
    ),
    "181": (
        CORRECTED,
        "The code was not valid on that date: send a corrected claim "
        "(frequency 7) with a valid code",
    ),
    "197": (
        CORRECTED,
        "Authorization was missing: if one was obtained, send a corrected "
        "claim (frequency 7) with its number (REF*G1); else appeal with the records",
    ),
    "204": (
        BILL_PATIENT,
        "Not covered by the patient's plan: bill the patient if they agreed "
        "in advance, else write it off",
    ),
    "252": (
        CORRECTED,
        "The requested documentation never came: send a corrected claim (frequency 7) "
        "with the attachment (275), or appeal with it",
    ),
    "242": (
        BILL_PATIENT,
        "Out of network: bill the patient per the plan's out-of-network "
        "rules, or appeal if the plan allowed it",
    ),
}
"""CARC → (next step, advice) for the denial worklist: the usual first move of a billing
office for each reason (after the CMS and X12 code descriptions, the same sources as
above). A reason not listed: :data:`DEFAULT_STEP`."""

DEFAULT_STEP = (APPEAL, "Review the reason and remarks; appeal if you disagree, else write it off")


def next_step(carc: str) -> tuple[str, str]:
    """(the recommended next step, advice in plain words) for a denial reason."""
    return NEXT_STEPS.get(carc, DEFAULT_STEP)


def group_words(group: str) -> str:
    return GROUPS.get(group, f"Group {group}")


def carc_words(code: str) -> str:
    return CARC.get(code, f"CARC {code}")


def rarc_words(code: str) -> str:
    return RARC.get(code, f"RARC {code}")


def plb_words(code: str) -> str:
    return PLB_REASONS.get(code, f"PLB reason {code}")
