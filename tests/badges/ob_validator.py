"""Running the real Open Badges validator (PyPI ``openbadges`` 1.1.2) from the tests.

The validator lives in its own virtualenv ``.venv-ob`` (``make ob-validator``): its pins conflict
with Flask's. The test process builds every document the assertion graph needs from the app's test
client, writes them to a JSON map ``{url: [status, content_type, body]}``, and runs
``mediation/badges/ob_runner.py`` with the validator's python, offline (recipe A of
docs/domain/open-badges.md: HTTP routed to the map, sockets refused).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv-ob" / "bin" / "python"
RUNNER = ROOT / "mediation" / "badges" / "ob_runner.py"
BASE = "https://mediation.example.org"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_validator() -> None:
    if PYTHON.exists():
        return
    message = (f"Vérificateur Open Badges absent ({PYTHON}) : lancez « make ob-validator » "
               "(virtualenv séparé, ses dépendances entrent en conflit avec Flask).")
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _urls_in(value):
    if isinstance(value, str):
        if value.startswith(BASE):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _urls_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _urls_in(item)


def collect_documents(client, *start_urls: str) -> dict[str, list]:
    """Every document reachable from ``start_urls`` on the app, as the app serves it."""
    docs: dict[str, list] = {}
    pending = list(start_urls)
    while pending:
        url = pending.pop()
        if url in docs:
            continue
        response = client.get(url[len(BASE):], headers={"Accept": "application/ld+json, application/json"})
        content_type = response.headers.get("Content-Type", "")
        body = response.get_data()
        if content_type.startswith("image/png"):
            docs[url] = [response.status_code, content_type, base64.b64encode(body).decode(), "base64"]
            continue
        text = body.decode("utf-8")
        docs[url] = [response.status_code, content_type, text]
        if "json" in content_type:
            pending.extend(u for u in _urls_in(json.loads(text)) if u not in docs)
    return docs


def run(tmp_path, docs: dict, *, url: str | None = None, file: bytes | None = None, json_input: str | None = None,
        recipient: dict | None = None, network: str = "none") -> dict:
    require_validator()
    docs_path = tmp_path / "docs.json"
    docs_path.write_text(json.dumps(docs))
    if url is not None:
        source = {"url": url}
    elif file is not None:
        path = tmp_path / "baked"
        path.write_bytes(file)
        source = {"file": str(path)}
    else:
        source = {"json": json_input}
    request = {"input": source, "recipient": recipient, "docs": str(docs_path), "network": network}
    done = subprocess.run([str(PYTHON), str(RUNNER)], input=json.dumps(request), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def errors(report: dict) -> list[str]:
    return [m["name"] for m in report["messages"] if m["messageLevel"] == "ERROR"]
