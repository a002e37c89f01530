"""The kernel every area builds on; it imports no area and not `branches`."""
