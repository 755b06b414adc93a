"""Locust scenario: mediators sign in through the form (CSRF token from the page), then log
individual sessions (``POST /activites/nouvelle`` → 302 to ``/activites/<id>``) and read their lists.

Each acknowledged write (302 with an id in Location) is appended to ``$LOADTEST_OUT/acknowledged.txt``
as ``id<TAB>epoch``; every 5xx is appended to ``errors.txt`` with its content type and whether its body
is the French "service indisponible" message.

``ReportRequester`` (multi-server mode, ``LOADTEST_REPORT_USERS`` of the users): signs in the same
way, asks for an impact report (PDF or XLSX, in turn) on ``POST /evaluation/rapports`` → 302 to
``/taches/<id>`` (appended to ``jobs.txt`` as ``id<TAB>format<TAB>epoch``), polls
``/taches/<id>/etat`` until the job is finished, then downloads the file from the job page and
appends ``id<TAB>status<TAB>seconds<TAB>download status<TAB>bytes<TAB>file ok`` to ``jobs_done.txt``.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
import time
from pathlib import Path

from locust import HttpUser, between, task

from mediation.types import local_today

OUT = Path(os.environ.get("LOADTEST_OUT", "instance/loadtest"))
ACCOUNTS = json.loads((OUT / "accounts.json").read_text()) if (OUT / "accounts.json").exists() else []
PASSWORD = os.environ.get("LOADTEST_PASSWORD", "charge-mot-de-passe-42")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_next_account = itertools.count()
_lock = threading.Lock()
THEMES = ("email", "navigation_sur_internet", "aide_aux_demarches_administratives", "prendre_en_main_du_materiel")


def _append(name: str, line: str) -> None:
    with _lock, open(OUT / name, "a") as handle:
        handle.write(line + "\n")


class SignedInUser(HttpUser):
    abstract = True

    def _check(self, response) -> None:
        if response.status_code >= 500:
            body = response.text or ""
            french = "momentanément indisponible" in body or "rien n'a été enregistré" in body.replace("&#39;", "'")
            _append("errors.txt", f"{response.status_code}\t{response.headers.get('Content-Type', '')}\t"
                                  f"{'fr' if french else 'NOT-FR'}\t{time.time():.3f}\t{response.request.path_url}")

    def _form_token(self, path: str, name: str) -> str | None:
        with self.client.get(path, name=name, catch_response=True) as response:
            self._check(response)
            match = CSRF.search(response.text or "")
            if response.status_code != 200 or not match:
                response.failure(f"{response.status_code} sans jeton CSRF")
                return None
            response.success()
            return match.group(1)

    def on_start(self) -> None:
        account = ACCOUNTS[next(_next_account) % len(ACCOUNTS)]
        self.structure_id = account["structure_id"]
        self.n = 0
        while True:
            token = self._form_token("/connexion", "GET /connexion")
            if token:
                with self.client.post("/connexion", name="POST /connexion", allow_redirects=False,
                                      catch_response=True,
                                      data={"csrf_token": token, "email": account["email"],
                                            "password": PASSWORD}) as response:
                    self._check(response)
                    if response.status_code == 302:
                        response.success()
                        return
                    response.failure(f"connexion refusée ({response.status_code})")
            time.sleep(1)


class Mediator(SignedInUser):
    wait_time = between(0.5, 2.0)

    @task(3)
    def log_activity(self) -> None:
        token = self._form_token("/activites/nouvelle", "GET /activites/nouvelle")
        if not token:
            return
        self.n += 1
        form = {"csrf_token": token, "structure_id": self.structure_id, "date": local_today().isoformat(),
                "duration": "45", "place_type": "lieu_activite", "place_structure_id": self.structure_id,
                "thematiques": THEMES[self.n % len(THEMES)], "materiel": "ordinateur", "autonomie": "autonome",
                "oriented": "non"}
        with self.client.post("/activites/nouvelle", data=form, name="POST /activites/nouvelle",
                              allow_redirects=False, catch_response=True) as response:
            self._check(response)
            match = re.search(r"/activites/(\d+)$", response.headers.get("Location", ""))
            if response.status_code == 302 and match:
                _append("acknowledged.txt", f"{match.group(1)}\t{time.time():.3f}")
                response.success()
            else:
                response.failure(f"{response.status_code}")

    @task(2)
    def list_activities(self) -> None:
        with self.client.get("/activites", name="GET /activites", catch_response=True) as response:
            self._check(response)
            response.success() if response.status_code == 200 else response.failure(str(response.status_code))

    @task(1)
    def home(self) -> None:
        with self.client.get("/", name="GET /", catch_response=True) as response:
            self._check(response)
            response.success() if response.status_code == 200 else response.failure(str(response.status_code))


class ReportRequester(SignedInUser):
    """A mediator who asks for impact reports (background jobs) and waits for them."""

    fixed_count = int(os.environ.get("LOADTEST_REPORT_USERS", "0"))
    wait_time = between(2.0, 5.0)
    FORMATS = ("pdf", "xlsx")

    def _get(self, path: str, name: str):
        with self.client.get(path, name=name, catch_response=True) as response:
            self._check(response)
            response.success() if response.status_code == 200 else response.failure(str(response.status_code))
            return response

    @task
    def request_report(self) -> None:
        token = self._form_token("/evaluation/rapports", "GET /evaluation/rapports")
        if not token:
            return
        self.n += 1
        fmt = self.FORMATS[self.n % len(self.FORMATS)]
        with self.client.post("/evaluation/rapports", data={"csrf_token": token, "format": fmt, "filters": ""},
                              name="POST /evaluation/rapports", allow_redirects=False,
                              catch_response=True) as response:
            self._check(response)
            match = re.search(r"/taches/(\d+)$", response.headers.get("Location", ""))
            if response.status_code != 302 or not match:
                response.failure(f"{response.status_code}")
                return
            response.success()
        job_id, started = match.group(1), time.time()
        _append("jobs.txt", f"{job_id}\t{fmt}\t{started:.3f}")
        status = "timeout"
        while time.time() - started < 600:
            time.sleep(1)
            response = self._get(f"/taches/{job_id}/etat", "GET /taches/[id]/etat")
            if response.status_code == 200 and response.json().get("finished"):
                status = response.json()["status"]
                break
        seconds = time.time() - started
        page = self._get(f"/taches/{job_id}", "GET /taches/[id]")
        link = re.search(r'href="(/evaluation/rapports/\d+\.(pdf|xlsx))"', page.text or "")
        download, size, ok = "none", 0, False
        if link:
            response = self._get(link.group(1), "GET /evaluation/rapports/[id].[format]")
            download, size = str(response.status_code), len(response.content)
            ok = response.content.startswith(b"%PDF" if link.group(2) == "pdf" else b"PK")
        _append("jobs_done.txt", f"{job_id}\t{status}\t{seconds:.1f}\t{download}\t{size}\t{ok}")
