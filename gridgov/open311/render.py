"""Open311 responses in JSON and XML.

XML follows the spec's element names (schemaless, no namespace): a list is a wrapper element
holding one element per entry (`services`/`service`, `service_requests`/`request`,
`errors`/`error`, `attributes`/`attribute`, `values`/`value`, `endpoints`/`endpoint`,
`formats`/`format`); JSON is the Spark-convention mapping of it (arrays at the top for lists)."""

import json
import re
import xml.etree.ElementTree as ET

from django.http import HttpResponse

#: children of a list element, by the list's name
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
# characters XML 1.0 cannot carry at all (ElementTree would write them and break the document)
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _INVALID_XML.sub("\ufffd", str(value))


def _fill(elem, value, name):
    if isinstance(value, dict):
        for k, v in value.items():
            _fill(ET.SubElement(elem, k), v, k)
    elif isinstance(value, (list, tuple)):
        child = ITEM_NAMES.get(name, "item")
        for v in value:
            _fill(ET.SubElement(elem, child), v, child)
    else:
        elem.text = _text(value)


def to_xml(root: str, value) -> bytes:
    elem = ET.Element(root)
    _fill(elem, value, root)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(elem, encoding="utf-8", xml_declaration=False)


def respond(fmt: str, root: str, value, status: int = 200, headers=None) -> HttpResponse:
    if fmt == "xml":
        resp = HttpResponse(to_xml(root, value), status=status, content_type="text/xml; charset=utf-8")
    else:
        body = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        resp = HttpResponse(body.encode(), status=status, content_type="application/json; charset=utf-8")
    for k, v in (headers or {}).items():
        resp[k] = v
    return resp


def error(fmt: str, code: int, description: str, headers=None) -> HttpResponse:
    return respond(fmt, "errors", [{"code": code, "description": description}], status=code, headers=headers)
