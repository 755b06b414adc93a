"""The evaluation demo: two funders, their programmes over the demo year, diagnoses and answered
follow-ups, and a real impact report the funder account downloads."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa
from pypdf import PdfReader

from mediation.cases.demo import load_cases_demo
from mediation.evaluation import indicators
from mediation.evaluation.demo import load_evaluation_demo
from mediation.evaluation.models import FollowUp, FollowUpStatus, Programme
from mediation.evaluation.scope import Scope, authorise, parse_filter


def test_demo_gives_the_funder_figures_and_a_report(app, client, login, session, network):
    users = [network.admin, network.coordinator, network.mediator, network.mediator_b, network.aidant,
             network.funder]
    load_cases_demo(session, territory=network.territory, structures=[network.structure_a, network.structure_b],
                    users=users, scale=0.4)
    counts = load_evaluation_demo(session, territory=network.territory,
                                  structures=[network.structure_a, network.structure_b], users=users)
    assert counts["programmes"] == 2 and counts["diagnoses"] > 0 and counts["follow_ups"] > 0
    assert session.scalar(sa.select(sa.func.count()).select_from(FollowUp)
                          .where(FollowUp.status == FollowUpStatus.REPONDU)) == counts["answered"]
    programme = session.scalar(sa.select(Programme).where(Programme.funder_id == network.funder.funder_id))
    scope = Scope(session, network.funder, authorise(session, network.funder, parse_filter(
        {"du": programme.starts_on.isoformat(), "au": programme.ends_on.isoformat()})))
    dashboard = indicators.compute_dashboard(scope)
    assert dashboard.figure("moyens.accompagnements").value > 100
    assert indicators.scope_means(scope)[0] == indicators.raw_means(scope)  # rollups rebuilt by the demo

    login(client, network.funder)
    listing = client.get("/evaluation/rapports").get_data(as_text=True)
    link = re.search(r'href="(/evaluation/rapports/\d+\.pdf)"', listing).group(1)
    pdf = client.get(link)
    assert pdf.status_code == 200
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert programme.name in text and "Méthode et définitions" in text
