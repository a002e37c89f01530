"""The city-branch domain: branches, memberships and roles, venues, geography."""
