"""Engagement: members' segments in a branch (and nudging them), branch health across the
network, and the personal referral link `/r/<code>` (who brought whom is the funnel's:
planner/funnel/referrals.py)."""
