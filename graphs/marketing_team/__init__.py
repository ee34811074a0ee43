"""The marketing team: a supervisor routing four workers over a campaign store."""
