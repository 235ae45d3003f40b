"""The steps after the replay: combine (windowed-aggregate replays), reconciliation (the diff Job and
its report), the promotion gate and the promotion Job; each step Job followed alike (`follow`),
decided purely (`decide`) and wired to the cluster (`PostReplaySteps`)."""
