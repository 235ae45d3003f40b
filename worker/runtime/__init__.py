"""The data-plane kernel every Job of the worker runs on: the entry harness (`entry`), the
transactional read-process-write loop (`transactional_loop`), produce with back-pressure
(`produce`) and the shape of the Jobs after the replay (`step`)."""
