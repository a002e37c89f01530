"""Check-in at the door: the append-only scan log, redeeming tickets, walk-ins, lists."""
