"""Clearinghouse-style healthcare EDI gateway."""

from gateway import _native

__version__ = "0.1.0"

# before any module of the claim path is imported: compiled (mypyc) or pure Python
_native.install()
