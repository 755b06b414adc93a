"""Staff pages of « Mon carnet »: print (or reprint) a person's wallet card, deactivate a card.

The routes stay on the badges blueprint (``badges.card_print``, ``badges.card_revoke``: same URLs
under /badges/dossiers/…, reached from a person's badges page); they are declared here because the
card belongs to the portal, the top layer that reads badges. Imported by ``create_app`` before the
blueprint is registered."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from mediation.badges.forms import EmptyForm
from mediation.badges.models import Wallet
from mediation.badges.views import STAFF, actionable_case, bp
from mediation.carnet import wallet
from mediation.carnet.cards import card_pdf
from mediation.downloads import file_response
from mediation.errors import DomainError
from mediation.extensions import db
from mediation.pathways import policy as pathways_policy
from mediation.policy import access, found_or_404


@bp.route("/dossiers/<int:case_id>/carte", methods=["POST"])
@access(*STAFF)
def card_print(case_id: int):
    """Print (or reprint) the person's wallet card: a PDF with the QR code and the short code."""
    case = actionable_case(case_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    structures = pathways_policy.acting_structures(db.session, current_user)
    structure_id = case.structure_id if case.structure_id in {s.id for s in structures} else (
        structures[0].id if structures else None)
    language = request.form.get("language")
    if language is not None:  # the mediator chose the card's language: it is also the carnet's
        try:
            wallet.record_language(db.session, current_user, case.beneficiary, language)
        except DomainError:
            abort(400)
    printed = wallet.print_card(db.session, current_user, case.beneficiary, structure_id=structure_id)
    pdf = card_pdf(printed, structure_name=next((s.name for s in structures if s.id == structure_id), None),
                   language=case.beneficiary.language)
    response = file_response(pdf, "carte-carnet-de-badges.pdf", "application/pdf")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/dossiers/<int:case_id>/carte/<int:card_id>/desactiver", methods=["POST"])
@access(*STAFF)
def card_revoke(case_id: int, card_id: int):
    case = actionable_case(case_id)
    form = EmptyForm()
    if form.validate_on_submit():
        the_wallet = found_or_404(db.session.scalar(sa.select(Wallet)
                                                    .where(Wallet.beneficiary_id == case.beneficiary_id)))
        try:
            wallet.revoke_card(db.session, current_user, wallet.get_card(db.session, the_wallet, card_id))
            flash("Carte désactivée : elle n'ouvre plus le carnet. Imprimez-en une nouvelle si besoin.", "success")
        except DomainError as error:
            if error.status_code == 404:
                abort(404)
            flash(error.message, "error")
    return redirect(url_for("badges.person", case_id=case.id))
