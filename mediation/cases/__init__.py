"""Cases and activity logging: beneficiaries, consents, case files, individual sessions and workshops."""
