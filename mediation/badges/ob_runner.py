"""Run the IMS Open Badges validator (PyPI ``openbadges`` 1.1.2) in its own virtualenv.

This file is a standalone script: it is executed by ``.venv-ob/bin/python`` (``make ob-validator``)
and imports nothing from the app, whose dependencies conflict with the validator's pins. It reads a
JSON request on stdin and writes a JSON report on stdout::

    {"input": {"url": "…"} | {"file": "/path/badge.png"} | {"json": "…"},
     "recipient": {"email": "…"} | null,
     "docs": "/path/docs.json" | {url: [status, content_type, body, "base64"?]} | null,
     "network": "none" | "loopback" | "public"}

Recipe A of docs/domain/open-badges.md: every HTTP request of the validator goes through
``requests.adapters.HTTPAdapter.send``; URLs present in ``docs`` (and the Open Badges context,
bundled with the validator) are answered from memory, the others go to the network only as
``network`` allows (``none``: offline; ``loopback``: 127.0.0.0/8 and ::1 only, for tests;
``public``: globally routable addresses only, never the server's own private network).
"""

import collections
import collections.abc

for _name in ("Mapping", "MutableMapping", "Iterable", "Sequence", "MutableSet", "Callable"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

import base64  # noqa: E402
import io  # noqa: E402
import ipaddress  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
from unittest import mock  # noqa: E402

import requests  # noqa: E402
from requests.structures import CaseInsensitiveDict  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _response(request, status, content_type, body):
    response = requests.Response()
    response.status_code = int(status)
    response.url = request.url
    response.request = request
    response.headers = CaseInsensitiveDict({"Content-Type": content_type})
    response._content = body if isinstance(body, bytes) else body.encode("utf-8")
    response.encoding = "utf-8"
    return response


def _load_docs(docs):
    if docs is None:
        return {}
    if isinstance(docs, str):
        with open(docs, encoding="utf-8") as handle:
            docs = json.load(handle)
    routes = {}
    for url, entry in docs.items():
        status, content_type, body = entry[0], entry[1], entry[2]
        if len(entry) > 3 and entry[3] == "base64":
            body = base64.b64decode(body)
        routes[url] = (status, content_type, body)
    return routes


def _address_allowed(host, network):
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if network == "loopback":
        return address.is_loopback
    if network == "public":
        return address.is_global and not address.is_multicast
    return False


def _summary(graph):
    nodes = {node.get("id"): node for node in graph or [] if isinstance(node, dict)}
    assertion = next((n for n in nodes.values() if n.get("type") == "Assertion"), None)
    badge = nodes.get(assertion.get("badge")) if assertion else None
    if badge is None:
        badge = next((n for n in nodes.values() if n.get("type") == "BadgeClass"), None)
    issuer = nodes.get(badge.get("issuer")) if badge else None
    endorsers = []
    for node in nodes.values():
        if node.get("type") == "Endorsement" and nodes.get(node.get("issuer")):
            endorsers.append(nodes[node["issuer"]].get("name"))
    return {
        "assertion_id": assertion.get("id") if assertion else None,
        "issued_on": assertion.get("issuedOn") if assertion else None,
        "revoked": bool(assertion.get("revoked")) if assertion else False,
        "badge_name": badge.get("name") if badge else None,
        "badge_description": badge.get("description") if badge else None,
        "criteria": (badge.get("criteria") or {}).get("narrative") if badge and isinstance(
            badge.get("criteria"), dict) else None,
        "issuer_name": issuer.get("name") if issuer else None,
        "issuer_url": issuer.get("url") if issuer else None,
        "endorsers": endorsers,
    }


def run(request):
    from openbadges import verify
    from openbadges.verifier.openbadges_context import OPENBADGES_CONTEXT_V2_DICT, OPENBADGES_CONTEXT_V2_URI

    network = request.get("network") or "none"
    routes = {OPENBADGES_CONTEXT_V2_URI: (200, "application/ld+json", json.dumps(OPENBADGES_CONTEXT_V2_DICT))}
    routes.update(_load_docs(request.get("docs")))
    fetched = []
    original_send = requests.adapters.HTTPAdapter.send
    original_connect = socket.socket.connect

    def send(self, prepared, **kwargs):
        if prepared.url in routes:
            status, content_type, body = routes[prepared.url]
            fetched.append([prepared.url, int(status)])
            return _response(prepared, status, content_type, body)
        if network == "none":
            fetched.append([prepared.url, None])
            raise requests.exceptions.ConnectionError("offline: no route for " + prepared.url)
        kwargs["timeout"] = 10
        response = original_send(self, prepared, **kwargs)
        fetched.append([prepared.url, response.status_code])
        return response

    def connect(sock, address):
        host = address[0] if isinstance(address, tuple) else str(address)
        if not _address_allowed(host, network):
            raise OSError("network access refused by the validator runner: " + host)
        return original_connect(sock, address)

    source = request["input"]
    if "file" in source:
        with open(source["file"], "rb") as handle:
            data = handle.read()
        if data.startswith(PNG_SIGNATURE):
            badge_input = io.BytesIO(data)
        else:  # baked SVG: the validator's type detection rejects unbake()'s bytes (known bug)
            from openbadges_bakery import unbake

            unbaked = unbake(io.BytesIO(data))
            badge_input = unbaked.decode("utf-8") if isinstance(unbaked, bytes) else unbaked
            if not badge_input:
                return {"valid": False, "errorCount": 1, "warningCount": 0, "fetched": fetched,
                        "messages": [{"name": "NO_BAKED_BADGE", "messageLevel": "ERROR",
                                      "result": "no Open Badges assertion in this file"}],
                        "badge": _summary([])}
    elif "url" in source:
        badge_input = source["url"]
    else:
        badge_input = source["json"]

    with mock.patch.object(requests.adapters.HTTPAdapter, "send", send), \
            mock.patch.object(socket.socket, "connect", connect):
        result = verify(badge_input, request.get("recipient") or None, use_cache=False)

    report = result.get("report", {})
    messages = [
        {"name": m.get("name"), "messageLevel": m.get("messageLevel"), "result": str(m.get("result", ""))[:500],
         "node_id": m.get("node_id")}
        for m in report.get("messages", [])
    ]
    summary = _summary(result.get("graph"))
    subject = report.get("validationSubject") or summary["assertion_id"]
    gone = [url for url, status in fetched if status == 410 and url in (subject, summary["assertion_id"])]
    revoked = bool(gone) or summary["revoked"]
    valid = bool(report.get("valid")) and not revoked
    if revoked:
        messages.append({"name": "ASSERTION_REVOKED", "messageLevel": "ERROR",
                         "result": "the hosted assertion answers 410 Gone or says revoked", "node_id": subject})
    return {
        "valid": valid,
        "revoked": revoked,
        "errorCount": int(report.get("errorCount", 0)) + (1 if revoked else 0),
        "warningCount": int(report.get("warningCount", 0)),
        "messages": messages,
        "openBadgesVersion": report.get("openBadgesVersion"),
        "validationSubject": subject,
        "recipientProfile": report.get("recipientProfile"),
        "fetched": fetched,
        "badge": summary,
    }


def main():
    request = json.load(sys.stdin)
    socket.setdefaulttimeout(15)
    try:
        output = run(request)
    except Exception as error:  # report, never a traceback on stdout
        output = {"valid": False, "errorCount": 1, "warningCount": 0, "fetched": [],
                  "messages": [{"name": "RUNNER_ERROR", "messageLevel": "ERROR",
                                "result": f"{type(error).__name__}: {error}"[:500]}],
                  "badge": _summary([])}
    json.dump(output, sys.stdout)


if __name__ == "__main__":
    main()
