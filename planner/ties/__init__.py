"""Strong ties: the card a member may show to the people they meet, and who is at a meetup."""
