"""Calendar files and feeds: one meetup as .ics, a branch's public feed, a member's own feed."""
