"""synth: sft pairs, dpo prompts and rs scenarios written by a teacher model from the company's own documents.

    steep synth PIPELINE.yaml          # the stage (`steep.stages.synth`); or `steep run` with a `synth:` section

Modules, in the order a run goes through them: `config` (use cases, teacher, counts, gates), `documents` (read
curate's output, sentences, use-case matching), `requests` (what to ask, the prompt templates), `teachers` (the
template / hf_local / openai backends behind an on-disk cache; `template_teacher` is the offline one), `rows` (a
reply as the row dpo, rs or sft reads, with its provenance), `quality` (PII, compliance, decontamination, dedup,
judge), `run` (all of it, writing the files and the drop counts).
"""
