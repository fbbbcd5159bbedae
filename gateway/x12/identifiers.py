"""Checks of healthcare identifiers, shared by the partner profiles and the claim edits."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4096)  # a file names the same few providers again and again
def npi_valid(npi: str) -> bool:
    """An NPI: 10 ASCII digits, first 1 or 2, and the Luhn check digit computed over the
    ISO 7812 card-issuer prefix ``80840`` followed by the first nine digits."""
    if len(npi) != 10 or not npi.isascii() or not npi.isdigit() or npi[0] not in "12":
        return False
    total = 0
    for index, char in enumerate(reversed("80840" + npi)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0
