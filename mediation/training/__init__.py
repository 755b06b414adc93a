"""Staff trainings and certifications (reference list and free entries), their certificates,
reminders before expiry, the territory's skills and gaps, and the aidants' habilitation to act under
a mandate, derived from these records (see docs/formations.md)."""
