"""The reconciliation Job: the sandbox against the existing output per event id, into a report
(`reconcile`) proven before it is stored (`invariants`)."""
