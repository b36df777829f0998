"""Held-out measures ("tasks") that training stages and eval share: bits per byte, format adherence, rule pass
rate, multi-turn coherence.

`spec` (the task configs), `names` (metric names) and `metrics` (pure arithmetic) are torch-free; `bpb`,
`answers`, `dialogue` and `measure` run models. This package itself imports nothing.
"""
