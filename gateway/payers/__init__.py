"""Payers: pure adjudication for the simulated payers (no Twisted), and the decision model
shared with the 835 builder."""
