from wtforms import EmailField, PasswordField, RadioField, StringField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp

from mediation.auth.services import API_SCOPES, API_TOKEN_DAYS
from mediation.forms import BaseForm, CheckboxListField

# Signing in only needs the shape of an address: the account lookup does the rest. (A strict
# validator refuses reserved domains such as the demo's ``@demo.test``.)
ADDRESS_SHAPE = Regexp(r"^[^@\s]+@[^@\s]+$", message="Adresse e-mail invalide.")
EMAIL_LENGTH = Length(max=254, message="Adresse e-mail trop longue.")
CODE_REQUIRED = DataRequired("Saisissez le code affiché par votre application.")
CODE_TOO_LONG = "Ce code est trop long."


class LoginForm(BaseForm):
    email = EmailField(
        "Adresse e-mail",
        validators=[DataRequired("Saisissez votre adresse e-mail."), EMAIL_LENGTH, ADDRESS_SHAPE],
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
        validators=[CODE_REQUIRED, Length(max=20, message=CODE_TOO_LONG)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True},
        description="Ouvrez votre application d'authentification (FreeOTP, Aegis, Google Authenticator…).",
    )


class TotpSetupForm(BaseForm):
    code = StringField(
        "Code à 6 chiffres affiché par l'application",
        validators=[CODE_REQUIRED, Length(max=10, message=CODE_TOO_LONG)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class EmptyForm(BaseForm):
    """For POST-only buttons (logout, revoke…): CSRF only."""


class PasswordForgottenForm(BaseForm):
    email = EmailField(
        "Adresse e-mail de votre compte",
        validators=[DataRequired("Saisissez votre adresse e-mail."), EMAIL_LENGTH, ADDRESS_SHAPE],
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
        if field.data != self.password.data:
            raise ValidationError("Les deux mots de passe ne sont pas identiques.")


class PasswordChangeForm(BaseForm):
    current_password = PasswordField(
        "Mot de passe actuel",
        validators=[DataRequired("Saisissez votre mot de passe actuel.")],
        render_kw={"autocomplete": "current-password"},
    )
    password = PasswordField(
        "Nouveau mot de passe",
        validators=[DataRequired("Saisissez un nouveau mot de passe.")],
        description="Au moins 12 caractères. Une phrase de plusieurs mots est facile à retenir.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Confirmez le nouveau mot de passe",
        validators=[DataRequired("Confirmez le nouveau mot de passe.")],
        render_kw={"autocomplete": "new-password"},
    )

    def validate_confirm(self, field):
        if field.data != self.password.data:
            raise ValidationError("Les deux mots de passe ne sont pas identiques.")


class ConfirmTotpForm(BaseForm):
    code = StringField(
        "Code à 6 chiffres affiché par votre application",
        validators=[CODE_REQUIRED, Length(max=10, message=CODE_TOO_LONG)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class ConfirmPasswordForm(BaseForm):
    current_password = PasswordField(
        "Mot de passe actuel",
        validators=[DataRequired("Saisissez votre mot de passe actuel.")],
        render_kw={"autocomplete": "current-password"},
    )


class ApiTokenForm(BaseForm):
    name = StringField(
        "Nom du jeton",
        validators=[DataRequired("Donnez un nom au jeton."),
                    Length(max=100, message="Le nom ne doit pas dépasser 100 caractères.")],
        description="Pour vous souvenir de son usage, par exemple « Tableur de suivi ».",
    )
    scopes = CheckboxListField(
        "Permissions",
        choices=[SelectChoice(scope, label) for scope, label in API_SCOPES.items()],
        validators=[DataRequired("Choisissez au moins une permission.")],
        invalid_choice_message="Choisissez des permissions de la liste.",
        invalid_value_message="Choisissez des permissions de la liste.",
        description="Donnez au jeton seulement ce dont l'outil a besoin. Il ne voit jamais plus que "
        "votre compte.",
    )
    days = RadioField(
        "Durée de validité",
        choices=[SelectChoice(days, f"{days} jours") for days in API_TOKEN_DAYS],
        coerce=int,
        default=90,
        validators=[DataRequired("Choisissez une durée de validité.")],
        invalid_choice_message="Choisissez une durée de validité de 30, 90 ou 365 jours.",
        invalid_value_message="Choisissez une durée de validité de 30, 90 ou 365 jours.",
    )
