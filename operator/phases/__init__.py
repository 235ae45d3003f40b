"""The phases of one controller pass, in the order `sync.conduct` runs them: plan, partitions,
steps (after the replay), status; each gathers facts, decides in a pure `decide_*`, then acts."""
