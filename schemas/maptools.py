"""Helpers shared by the map generators of schemas/ (pyx12's map XML format, edited with lxml).

Used by build_279_maps.py (270/271 005010X279A1) and build_212_maps.py (276/277 005010X212);
run those, not this. Every helper asserts that what it edits exists, so that a pyx12 release
with different maps fails the build instead of producing a silently different map.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path

from lxml import etree

HERE = Path(__file__).resolve().parent


def pyx12_map_dir() -> Path:
    import pyx12

    return Path(str(pyx12.__file__)).parent / "map"


def parse(name: str) -> etree._ElementTree:
    parser = etree.XMLParser(remove_blank_text=True, remove_comments=True)
    return etree.parse(str(pyx12_map_dir() / name), parser)


def loop(root: etree._Element, xid: str) -> etree._Element:
    found = root.find(f".//loop[@xid='{xid}']")
    assert found is not None, xid
    return found


def segments(parent: etree._Element, xid: str) -> list[etree._Element]:
    return [c for c in parent if c.tag == "segment" and c.get("xid") == xid]


def segment(parent: etree._Element, xid: str, code: str | None = None) -> etree._Element:
    """The child segment ``xid`` of ``parent`` (the one whose first coded element lists
    ``code``, when given)."""
    for seg in segments(parent, xid):
        if code is None or code in first_codes(seg):
            return seg
    raise AssertionError(f"{parent.get('xid')}: no {xid} {code or ''}")


def first_codes(seg: etree._Element) -> list[str]:
    for el in seg:
        if el.tag == "element":
            return [c.text or "" for c in el.findall("valid_codes/code")]
        if el.tag == "composite":
            return []
    return []


def drop(node: etree._Element) -> None:
    parent = node.getparent()
    assert parent is not None
    parent.remove(node)


def set_text(el: etree._Element, tag: str, value: str) -> None:
    child = el.find(tag)
    if child is None:
        child = etree.SubElement(el, tag)
    child.text = value


def element(seg: etree._Element, xid: str) -> etree._Element:
    """Element ``xid`` (``NM108``, ``SVC01-01``) or composite (``SVC01``, by its seq)."""
    found = seg.find(f".//element[@xid='{xid}']")
    if found is None:
        for comp in seg.findall("composite"):
            if comp.get("xid") == xid or (
                comp.findtext("seq") == xid[-2:] and xid[:-2] == seg.get("xid")
            ):
                return comp
    assert found is not None, (seg.get("xid"), xid)
    return found


def codes(el: etree._Element, values: Iterable[str]) -> None:
    """Replace the element's code list (an empty list: no code list at all)."""
    values = list(values)
    vc = el.find("valid_codes")
    if vc is not None:
        el.remove(vc)
    if not values:
        return
    vc = etree.Element("valid_codes")
    for code in values:
        etree.SubElement(vc, "code").text = code
    # valid_codes sits after data_ele/name/usage/seq (and repeat) in pyx12's schema
    anchor = el.find("repeat")
    if anchor is None:
        anchor = el.find("seq")
    assert anchor is not None
    anchor.addnext(vc)


def usage(seg: etree._Element, xids: Iterable[str], value: str) -> None:
    for xid in xids:
        set_text(element(seg, xid), "usage", value)


def repeat(el: etree._Element, count: int) -> None:
    """Make a simple element repeating (5010 EB03, EQ01: up to 99 service type codes)."""
    node = el.find("repeat")
    if node is None:
        node = etree.Element("repeat")
        seq = el.find("seq")
        assert seq is not None
        seq.addnext(node)
    node.text = str(count)


def add_element(
    seg: etree._Element, xid: str, data_ele: str, name: str, use: str, seq: int
) -> etree._Element:
    """Append a simple element (5010 adds NM112, DMG10/11, N407...)."""
    el = etree.SubElement(seg, "element", xid=xid)
    etree.SubElement(el, "data_ele").text = data_ele
    etree.SubElement(el, "name").text = name
    etree.SubElement(el, "usage").text = use
    etree.SubElement(el, "seq").text = f"{seq:02d}"
    return el


def retitle(
    node: etree._Element, name: str, use: str | None = None, most: str | None = None
) -> None:
    """Set a segment's (or loop's) name, usage and max use (a loop's repeat)."""
    set_text(node, "name", name)
    if use is not None:
        set_text(node, "usage", use)
    if most is not None:
        set_text(node, "repeat" if node.tag == "loop" else "max_use", most)


def clone(node: etree._Element) -> etree._Element:
    return copy.deepcopy(node)


def write(tree: etree._ElementTree, name: str, header: str) -> Path:
    root = tree.getroot()
    root.addprevious(etree.Comment(header))
    out = HERE / name
    etree.indent(tree, space="  ")
    tree.write(str(out), xml_declaration=True, encoding="utf-8", pretty_print=True)
    return out
