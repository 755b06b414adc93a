"""Appointments at places (slots per service, booking with a referral, reminders, attendance), the
places' self-assessed services reviewed by the coordination, and the public guide of places.

Sits above pathways (it books with a referral and reads the referrals' services) and below the
evaluation and the wallet; the domains below never import it.
"""
