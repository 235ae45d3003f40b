"""The EventReplay operator (kopf): plans replays, runs worker Jobs, reports status."""
