"""The steps after the replay: reconciliation (the diff Job and its report), the promotion gate
and the promotion Job, decided purely (`decide`) and wired to the cluster (`PostReplaySteps`)."""
