"""Mandates in the style of Aidants Connect: scoped, time-limited, consented, revocable, every use journaled."""
