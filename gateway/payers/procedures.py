"""Plain-language service descriptions for patient statements: a small maintained table.

Two kinds of code, two sources:

* HCPCS Level II codes (a letter and four digits): the short descriptors CMS publishes in the
  public HCPCS quarterly file (https://www.cms.gov/medicare/coding-billing/healthcare-common-
  procedure-system/quarterly-update), reworded only where the abbreviation would puzzle a
  patient.
* CPT codes (five digits) are the AMA's and so are their descriptors (copyrighted, licensed):
  this table does NOT reproduce them. What it has for the common codes is our own plain
  wording of what kind of service it is ("Office visit, established patient"), written for
  patients; a practice that licenses CPT can replace the table.

A code not in the table is shown as the code alone (``Service 12345``): never a guess.
"""

from __future__ import annotations

SERVICES: dict[str, str] = {
    # CPT: our own plain wording (see the module docstring), not the AMA's descriptors
    "99202": "Office visit, new patient (short)",
    "99203": "Office visit, new patient",
    "99204": "Office visit, new patient (longer)",
    "99205": "Office visit, new patient (extended)",
    "99211": "Office visit, established patient (brief, nurse)",
    "99212": "Office visit, established patient (short)",
    "99213": "Office visit, established patient",
    "99214": "Office visit, established patient (longer)",
    "99215": "Office visit, established patient (extended)",
    "99385": "Preventive checkup, new patient, age 18-39",
    "99395": "Preventive checkup, established patient, age 18-39",
    "99396": "Preventive checkup, established patient, age 40-64",
    "90471": "Vaccine given by injection (administration)",
    "90472": "Each additional vaccine given by injection",
    "90686": "Flu vaccine",
    "97110": "Physical therapy: therapeutic exercise",
    "97112": "Physical therapy: balance and coordination training",
    "97140": "Physical therapy: hands-on (manual) therapy",
    "97530": "Physical therapy: functional activities",
    "97161": "Physical therapy evaluation",
    "36415": "Blood draw",
    "80053": "Blood test: comprehensive metabolic panel",
    "85025": "Blood test: complete blood count",
    "81002": "Urine test",
    "93000": "Heart tracing (EKG)",
    "71046": "Chest X-ray",
    # HCPCS Level II: CMS short descriptors (public), lightly reworded
    "G0008": "Flu vaccine administration (Medicare)",
    "G0009": "Pneumococcal vaccine administration (Medicare)",
    "G0438": "Annual wellness visit, first",
    "G0439": "Annual wellness visit, subsequent",
    "J1100": "Dexamethasone injection",
    "J3301": "Triamcinolone injection",
    "A4550": "Surgical tray",
    "E0114": "Crutches",
    "L3908": "Wrist brace",
    "Q4001": "Cast supplies",
}


def service_words(code: str) -> str:
    """The plain words of a procedure code, else ``Service <code>``."""
    return SERVICES.get(code.upper(), f"Service {code}")
