"""The replay worker: replays one partition exactly once into the sandbox topic."""
