"""CMS structures built by hand (asn1crypto), independent of gateway.as2.cms, for tests that
need what our own builder would never make (not zlib, truncated, nested, a bomb)."""

from __future__ import annotations

from asn1crypto import cms as asn1_cms


def compressed_data(deflated: bytes) -> bytes:
    """A DER CompressedData (RFC 3274, zlib) whose content is ``deflated`` as given."""
    info = asn1_cms.ContentInfo(
        {
            "content_type": "compressed_data",
            "content": asn1_cms.CompressedData(
                {
                    "version": "v0",
                    "compression_algorithm": {"algorithm": "zlib"},
                    "encap_content_info": {
                        "content_type": "data",
                        "content": asn1_cms.ParsableOctetString(deflated),
                    },
                }
            ),
        }
    )
    return bytes(info.dump())
