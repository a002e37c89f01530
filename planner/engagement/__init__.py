"""Engagement: members' segments in a branch (and nudging them), branch health across the
network, and personal referrals (who brought whom, and whether they came)."""
