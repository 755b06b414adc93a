"""Pathways across structures: templates, diagnosis, progress, referrals, reassignment, loans."""
