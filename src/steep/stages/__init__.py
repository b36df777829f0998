"""The pipeline's stages, one module each, in run order: base, curate, synth, cpt, sft, dpo, rs, eval, serve.

Each module ends with `STAGE = StageSpec(...)` (see `steep.stage`): its config section, the inputs it consumes,
what it produces. Module tops import no torch, so the pipeline can validate a YAML from these declarations; a
stage's `run` imports what it needs. No stage imports another (import-linter checks it in CI).
"""

STAGE_ORDER = ("base", "curate", "synth", "cpt", "sft", "dpo", "rs", "eval", "serve")
