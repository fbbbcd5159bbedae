"""Clearinghouse-style healthcare EDI gateway."""

__version__ = "0.1.0"
