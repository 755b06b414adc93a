from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length

from mediation.forms import BaseForm


class LoginForm(BaseForm):
    email = EmailField(
        "Adresse e-mail",
        validators=[DataRequired("Saisissez votre adresse e-mail."), Email("Adresse e-mail invalide.")],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
    password = PasswordField(
        "Mot de passe",
        validators=[DataRequired("Saisissez votre mot de passe.")],
        render_kw={"autocomplete": "current-password"},
    )


class TotpForm(BaseForm):
    code = StringField(
        "Code à 6 chiffres (ou code de secours)",
        validators=[DataRequired("Saisissez le code affiché par votre application."), Length(max=20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True},
        description="Ouvrez votre application d'authentification (FreeOTP, Aegis, Google Authenticator…).",
    )


class TotpSetupForm(BaseForm):
    code = StringField(
        "Code à 6 chiffres affiché par l'application",
        validators=[DataRequired("Saisissez le code affiché par votre application."), Length(max=10)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class EmptyForm(BaseForm):
    """For POST-only buttons (logout, revoke…): CSRF only."""


class PasswordForgottenForm(BaseForm):
    email = EmailField(
        "Adresse e-mail de votre compte",
        validators=[DataRequired("Saisissez votre adresse e-mail."), Email("Adresse e-mail invalide.")],
        render_kw={"autocomplete": "username"},
    )


class PasswordResetForm(BaseForm):
    password = PasswordField(
        "Nouveau mot de passe",
        validators=[DataRequired("Saisissez un mot de passe.")],
        description="Au moins 12 caractères. Une phrase de plusieurs mots est facile à retenir.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Confirmez le mot de passe",
        validators=[DataRequired("Confirmez le mot de passe.")],
        render_kw={"autocomplete": "new-password"},
    )

    def validate_confirm(self, field):
        from wtforms.validators import ValidationError

        if field.data != self.password.data:
            raise ValidationError("Les deux mots de passe ne sont pas identiques.")
