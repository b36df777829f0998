"""The pipeline layer: the composed YAML schema (`config`), the runner (`runner`), run summaries (`show`).

    from steep.pipeline.config import load_pipeline_config
    from steep.pipeline.runner import run_pipeline
"""
