"""The data-plane kernel every Job of the worker runs on: the entry harness (`entry`), the
transactional read-process-write loop (`transactional_loop`) and produce with back-pressure
(`produce`)."""
