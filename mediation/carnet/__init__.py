"""« Mon carnet »: the beneficiary portal (wallet opened from a printed card or a one-time code), its
cards and the follow-up questionnaire. A top layer: it reads badges, pathways, mandates and evaluation;
nothing below imports it."""
