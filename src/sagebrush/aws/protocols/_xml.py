"""Shape-directed XML, shared by the rest-xml (S3) and query (IAM, STS) protocols.

Both directions mirror botocore's own XML code (``RestXMLSerializer`` and
``BaseXMLResponseParser``): element names come from ``locationName``, lists are wrapped in
``member`` elements unless ``flattened``, maps use ``entry``/``key``/``value``, and
``xmlAttribute`` members live on their parent's attributes.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree as ET

from botocore.model import ListShape, MapShape, Shape, StructureShape

from sagebrush.aws.protocols._values import ValueProblem, scalar_from_text, scalar_to_text

_NAMESPACE_RE = re.compile(r"^{[^}]*}")
_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def parse_document(body: bytes) -> ET.Element:
    """The root element of an XML body; DTDs are refused (no entity expansion, ever)."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise ValueProblem("document type declarations are not allowed")
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise ValueProblem(f"malformed XML: {exc}") from exc


def to_bytes(root: ET.Element) -> bytes:
    return _XML_DECLARATION + ET.tostring(root, encoding="unicode").encode()


def local_name(element: ET.Element) -> str:
    return _NAMESPACE_RE.sub("", element.tag)


# -- decoding ----------------------------------------------------------------------------


def _children_by_name(element: ET.Element) -> dict[str, list[ET.Element]]:
    out: dict[str, list[ET.Element]] = {}
    for child in element:
        out.setdefault(local_name(child), []).append(child)
    return out


def member_xml_name(member: Shape, name: str) -> str:
    """The element name a structure member uses (flattened lists name their items)."""
    if isinstance(member, ListShape) and member.serialization.get("flattened"):
        item_name = member.member.serialization.get("name")
        if item_name:
            return str(item_name)
    return str(member.serialization.get("name", name))


def decode_structure(shape: StructureShape, element: ET.Element) -> dict[str, Any]:
    children = _children_by_name(element)
    attributes = {_NAMESPACE_RE.sub("", key): value for key, value in element.attrib.items()}
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        if member.serialization.get("location"):
            continue
        if member.serialization.get("xmlAttribute"):
            attr = str(member.serialization.get("name", name))
            found = element.attrib.get(attr)
            if found is None:
                found = attributes.get(attr.rpartition(":")[2])
            if found is not None:
                out[name] = scalar_from_text(member, found)
            continue
        nodes = children.get(member_xml_name(member, name))
        if not nodes:
            continue
        if isinstance(member, ListShape | MapShape) and member.serialization.get("flattened"):
            out[name] = _decode_flat(member, nodes)
        else:
            out[name] = decode_element(member, nodes[0])
    return out


def _decode_flat(shape: ListShape | MapShape, nodes: list[ET.Element]) -> Any:
    if isinstance(shape, ListShape):
        return [decode_element(shape.member, node) for node in nodes]
    return dict(_decode_entry(shape, node) for node in nodes)


def _decode_entry(shape: MapShape, entry: ET.Element) -> tuple[Any, Any]:
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    key: Any = None
    value: Any = None
    for part in entry:
        tag = local_name(part)
        if tag == key_name:
            key = decode_element(shape.key, part)
        elif tag == value_name:
            value = decode_element(shape.value, part)
    if key is None:
        raise ValueProblem(f"map entry without a <{key_name}>")
    return key, value


def decode_element(shape: Shape, element: ET.Element) -> Any:
    """The Python value of ``element`` read as ``shape``."""
    if isinstance(shape, StructureShape):
        return decode_structure(shape, element)
    if isinstance(shape, ListShape):
        return [decode_element(shape.member, child) for child in element]
    if isinstance(shape, MapShape):
        return dict(_decode_entry(shape, child) for child in element)
    return scalar_from_text(shape, element.text or "")


# -- encoding ----------------------------------------------------------------------------


def add_namespace(shape: Shape, element: ET.Element) -> None:
    namespace = shape.serialization.get("xmlNamespace")
    if isinstance(namespace, str):
        element.set("xmlns", namespace)
    elif isinstance(namespace, dict) and namespace.get("uri"):
        prefix = namespace.get("prefix")
        element.set(f"xmlns:{prefix}" if prefix else "xmlns", namespace["uri"])


def encode_members(shape: StructureShape, value: Any, element: ET.Element) -> None:
    """Append ``value``'s body members to ``element`` (header members are skipped)."""
    for name, member in shape.members.items():
        if member.serialization.get("location"):
            continue
        item = value.get(name)
        if item is None:
            continue
        if member.serialization.get("xmlAttribute"):
            attr = str(member.serialization.get("name", name))
            element.set(attr, scalar_to_text(member, item))
            if attr.startswith("xsi:"):
                # Grantee's xsi:type needs its namespace declared where it is used.
                element.set("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
            continue
        encode_into(member, item, element, str(member.serialization.get("name", name)))


def encode_into(shape: Shape, value: Any, parent: ET.Element, name: str) -> None:
    """Append ``value`` to ``parent`` as element(s) called ``name``."""
    if isinstance(shape, ListShape):
        _encode_list(shape, value, parent, name)
    elif isinstance(shape, MapShape):
        _encode_map(shape, value, parent, name)
    else:
        parent.append(encode_element(shape, value, name))


def encode_element(shape: Shape, value: Any, name: str) -> ET.Element:
    """A single element for ``value`` (lists and maps become wrapper elements)."""
    element = ET.Element(name)
    add_namespace(shape, element)
    if isinstance(shape, StructureShape):
        encode_members(shape, value, element)
    elif isinstance(shape, ListShape | MapShape):
        holder = ET.Element("holder")
        encode_into(shape, value, holder, name)
        return holder[0] if len(holder) else element
    else:
        element.text = scalar_to_text(shape, value)
    return element


def _encode_list(shape: ListShape, value: Any, parent: ET.Element, name: str) -> None:
    if shape.serialization.get("flattened"):
        item_name = str(shape.member.serialization.get("name", name))
        for item in value:
            parent.append(encode_element(shape.member, item, item_name))
        return
    wrapper = ET.SubElement(parent, name)
    add_namespace(shape, wrapper)
    item_name = str(shape.member.serialization.get("name", "member"))
    for item in value:
        wrapper.append(encode_element(shape.member, item, item_name))


def _encode_map(shape: MapShape, value: Any, parent: ET.Element, name: str) -> None:
    key_name = str(shape.key.serialization.get("name", "key"))
    value_name = str(shape.value.serialization.get("name", "value"))
    flattened = bool(shape.serialization.get("flattened"))
    container = parent
    if not flattened:
        container = ET.SubElement(parent, name)
        add_namespace(shape, container)
    for key, item in value.items():
        entry = ET.SubElement(container, name if flattened else "entry")
        entry.append(encode_element(shape.key, key, key_name))
        if item is not None:
            encode_into(shape.value, item, entry, value_name)
