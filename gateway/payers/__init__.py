"""Payers: pure adjudication for the simulated payers (no Twisted), and the decision model
shared with the 835 builder.

- :mod:`gateway.payers.model`: the decisions (contract with the 835 builder);
- :mod:`gateway.payers.config` / :mod:`gateway.payers.loader`: a payer's roster, plans, fee
  schedule and rules (``load_payer(directory)``, format in ``partners/payers/README.md``);
- :mod:`gateway.payers.adjudicate`: ``adjudicate`` / ``release_pended`` / ``reverse``;
- :mod:`gateway.payers.inputs`: ``ClaimInput`` from an 837 transaction set.

Nothing is imported here, so ``gateway.payers.model`` stays free of the X12 imports the
adjudication needs (the 835 builder in ``gateway.x12`` imports the model).
"""
