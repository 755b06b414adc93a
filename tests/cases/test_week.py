"""« Ma semaine »: a mediator's own figures today / this week / this month and latest sessions; the
coordinator's territory week."""

from datetime import timedelta

from mediation import week
from mediation.cases.activities import AnonymousCounters
from mediation.cases.enums import ActivityType
from mediation.types import local_today


def test_mediator_figures_count_only_their_own_sessions_by_window(session, network, make_beneficiary, log,
                                                                    activity_input):
    today = local_today()
    ana, ben = make_beneficiary(first_name="Ana"), make_beneficiary(first_name="Ben")
    sessions = [  # (days ago, person ids, minutes)
        (0, [ana.id], 60), (0, [ben.id], 30), (1, [ana.id], 45), (6, [ben.id], 90), (9, [ana.id], 120),
        (35, [ben.id], 15),
    ]
    for days_ago, people, minutes in sessions:
        log(activity_input(date=today - timedelta(days=days_ago), beneficiary_id=people[0], duration_min=minutes))
    log(activity_input(type=ActivityType.COLLECTIF, date=today, duration_min=90,
                       counters=AnonymousCounters(total=4)))
    other = make_beneficiary(actor=network.mediator_b, structure=network.structure_b, first_name="Autre")
    log(activity_input(structure_id=network.structure_b.id, place_structure_id=network.structure_b.id,
                       beneficiary_id=other.id, date=today), user=network.mediator_b)

    result = week.mediator_week(session, network.mediator, today)
    monday, first = week.week_start(today), today.replace(day=1)
    every = [(today - timedelta(days=d), people, minutes) for d, people, minutes in sessions] + [(today, None, 90)]
    for figures, start in zip(result.figures, (today, monday, first), strict=True):
        inside = [s for s in every if s[0] >= start]
        assert figures.activities == len(inside), figures.label
        assert figures.minutes == sum(s[2] for s in inside), figures.label
        named = {p for s in inside if s[1] for p in s[1]}
        workshop = 4 if any(s[1] is None for s in inside) else 0
        assert figures.people == len(named) + workshop, figures.label
        assert figures.accompaniments == sum(len(s[1]) for s in inside if s[1]) + workshop, figures.label
    assert [a.date for a in result.recent] == sorted((s[0] for s in every), reverse=True)[:week.RECENT]
    assert all(a.mediator_id == network.mediator.id for a in result.recent)


def test_mediator_home_is_their_week(client, login, network, make_beneficiary, log, activity_input):
    person = make_beneficiary(first_name="Océane", last_name="Roux")
    activity = log(activity_input(beneficiary_id=person.id, date=local_today(), duration_min=120))
    login(client, network.mediator)
    page = client.get("/").get_data(as_text=True)
    assert "<h1>Ma semaine</h1>" in page
    assert f"/activites/{activity.id}/dupliquer" in page
    assert f"/activites/nouvelle?beneficiaire={person.id}" in page and "Nouvelle séance avec Océane" in page
    assert "2 h" in page and "120 min" not in page
    assert "Orientations reçues à traiter (0)" in page and "Relances à faire (0)" in page
    assert 'action="/dossiers"' in page and 'name="q"' in page


def test_coordinator_home_is_the_territory_week(client, login, network, make_beneficiary, log, activity_input):
    log(activity_input(beneficiary_id=make_beneficiary().id, date=local_today()))
    login(client, network.coordinator)
    page = client.get("/").get_data(as_text=True)
    assert "La semaine du territoire" in page
    quiet = page.split("Structures sans activité depuis lundi</h2>")[1]
    assert network.structure_b.name in quiet and network.structure_a.name not in quiet
    assert network.structure_far.name not in page  # another territory
    assert "Océane" not in page


def test_funder_home_has_no_week(client, login, network):
    login(client, network.funder)
    page = client.get("/").get_data(as_text=True)
    assert "Ma semaine" not in page and "semaine du territoire" not in page and "Vos pages" in page


def test_a_national_home_names_the_first_quiet_structures_and_counts_them_all(client, login, network,
                                                                              monkeypatch):
    """Thousands of structures without activity in a national network: the first ones by name, the count
    of all."""
    monkeypatch.setattr(week, "QUIET_LISTED", 2)
    login(client, network.admin)
    page = client.get("/").get_data(as_text=True)
    assert "<strong>3</strong> structures sur 3 sans activité depuis lundi" in page
    quiet = page.split("Structures sans activité depuis lundi</h2>")[1].split("</section>")[0]
    assert "Les 2 premières par ordre alphabétique, sur 3." in quiet
    assert "CCAS Lointain" in quiet and "France Services A" in quiet and "Médiathèque B" not in quiet
