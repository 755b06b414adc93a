"""``flask --app mediation badges …``: maintenance of issued badges."""

from __future__ import annotations

import click

from mediation.extensions import db


@click.group("badges")
def badges_group() -> None:
    """Badges ouverts : maintenance des badges délivrés."""


@badges_group.command("reissue-phone-identities")
@click.option("--dry-run", is_flag=True, help="Compter les badges concernés sans rien changer.")
def reissue_phone_identities_command(dry_run: bool) -> None:
    """Délivre à nouveau, au carnet de la personne, les badges dont le titulaire est identifié par son
    numéro de téléphone, et révoque les anciens avec leur motif (journal d'audit)."""
    import sqlalchemy as sa

    from mediation.badges import services
    from mediation.badges.models import Assertion, RecipientType

    if dry_run:
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Assertion).where(
            Assertion.recipient_type == RecipientType.TELEPHONE, Assertion.revoked_at.is_(None)))
        click.echo(f"{count} badge(s) identifié(s) par un numéro de téléphone seraient délivrés à nouveau.")
        return
    pairs = services.reissue_phone_identities(db.session)
    db.session.commit()
    click.echo(f"{len(pairs)} badge(s) délivré(s) à nouveau au carnet de la personne ; les anciens sont révoqués "
               "avec leur motif.")


@badges_group.command("ob3-new-key")
def ob3_new_key_command() -> None:
    """Affiche une nouvelle clé de signature Open Badges 3.0, à mettre dans MEDIATION_OB3_SIGNING_KEY."""
    from mediation.badges import ob3

    click.echo(ob3.new_key_text())
