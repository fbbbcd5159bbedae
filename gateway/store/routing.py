"""Tables (schema delta 1) for routing claims to payers and answering them (see
gateway/pipeline/routing.py).

``batches``   one re-enveloped 837 interchange per payer per source file (kept as a blob).
``routes``    one row per routed claim: outbound (ISA13, ST02, index) → source claim, its
              state at the payer and the payer's decision.
``decisions`` the latest decision per payer claim control number (CLP07), for corrections.
``accumulators`` / ``paid_history`` the simulated payers' memory across claims.
``accepted_sets`` the transaction sets each inbound file's 999 accepted.
``remits``    835s built (or received) and where they went.
"""
