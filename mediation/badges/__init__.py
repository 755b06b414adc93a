"""Open Badges 2.0 at pathway milestones, the beneficiary's wallet (« mon carnet ») and badge
verification. See docs/domain/open-badges.md."""
