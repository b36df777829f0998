"""The `steep` command line. Thin glue: parse, validate, hand over to steep.pipeline; no stage logic here.

    steep run examples/demo/pipeline.yaml [--from sft] [--until dpo] [sft.lora.r=4 ...]
    steep sft examples/demo/pipeline.yaml          # one stage (its inputs must be complete)
    steep show runs/demo [--json]
    steep serve runs/demo [--port 8000]
    steep demo-data examples/demo/data

Heavy imports (torch, transformers) happen inside the commands that need them, so `steep --help` and config
validation answer in well under a second.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="steep: turn an open base model into your company's domain expert.")

STAGE_HELP = {
    "base": "resolve or build the base model",
    "curate": "clean, gate, deduplicate and redact the document lake",
    "synth": "sft pairs, dpo prompts and rs scenarios written by a teacher from the curated documents",
    "cpt": "continued pre-training on the curated corpus (with replay)",
    "sft": "LoRA supervised fine-tuning on chat data",
    "dpo": "online DPO: sample, judge, train on preference pairs",
    "rs": "rejection-sampled multi-turn SFT against a simulated user",
    "eval": "evaluate every stage's model on the held-out sets",
    "serve": "check and smoke-test the final model behind the API (start it with `steep serve RUN_DIR`)",
}


def _load(pipeline: Path, overrides: list[str]):
    from steep.pipeline.config import ConfigError, load_pipeline_config

    try:
        return load_pipeline_config(pipeline, overrides)
    except ConfigError as error:
        typer.secho(str(error), fg="red", err=True)
        raise typer.Exit(2) from None


def _execute(pipeline: Path, overrides: list[str], start: Optional[str], stop: Optional[str]) -> None:
    cfg = _load(pipeline, overrides)
    from steep.log import console_logging, quiet_libraries
    from steep.pipeline.runner import PipelineError, run_pipeline
    from steep.pipeline.show import print_summary

    from steep.http_retry import EndpointRefused, EndpointUnavailable

    quiet_libraries()
    console_logging()
    try:
        outcomes = run_pipeline(cfg, start=start, stop=stop)
    except PipelineError as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(1) from None
    except (EndpointUnavailable, EndpointRefused) as error:  # judges' errors are these too
        # an outside service (a judge, a sampling server) failed: not a bug to trace, and nothing finished is lost
        typer.secho(f"error: {error}\nrerun the same command to resume: finished work and paid-for verdicts are kept", fg="red", err=True)
        raise typer.Exit(1) from None
    print_summary(outcomes, Path(cfg.run_dir))


@app.command()
def run(
    pipeline: Path = typer.Argument(..., help="pipeline YAML"),
    overrides: Optional[list[str]] = typer.Argument(None, help="key.sub=value overrides, e.g. sft.lora.r=4"),
    from_stage: Optional[str] = typer.Option(None, "--from", help="rerun from this stage on (earlier ones must be complete)"),
    until: Optional[str] = typer.Option(None, "--until", help="stop after this stage"),
) -> None:
    """Run the pipeline; completed stages whose config and inputs are unchanged are skipped."""
    _execute(pipeline, overrides or [], from_stage, until)


def _stage_command(stage: str):
    def command(
        pipeline: Path = typer.Argument(..., help="pipeline YAML"),
        overrides: Optional[list[str]] = typer.Argument(None, help="key.sub=value overrides"),
    ) -> None:
        _execute(pipeline, overrides or [], stage, stage)

    command.__doc__ = f"Run only the {stage} stage ({STAGE_HELP[stage]}); earlier stages must be complete."
    return command


for _stage in ("base", "curate", "synth", "cpt", "sft", "dpo", "rs", "eval"):
    app.command(name=_stage)(_stage_command(_stage))


@app.command()
def validate(
    pipeline: Path = typer.Argument(..., help="pipeline YAML"),
    overrides: Optional[list[str]] = typer.Argument(None, help="key.sub=value overrides"),
) -> None:
    """Check a pipeline YAML (keys, types, regexes, files) without running anything."""
    _load(pipeline, overrides or [])
    typer.echo(f"{pipeline}: ok")


@app.command()
def show(run_dir: Path = typer.Argument(..., help="a run directory"), as_json: bool = typer.Option(False, "--json", help="print {stage: metrics} as JSON")) -> None:
    """Lineage and metrics of a run at a glance."""
    from steep.pipeline.runner import collect_metrics

    if not run_dir.is_dir():
        typer.secho(f"error: no run directory at {run_dir}", fg="red", err=True)
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(collect_metrics(run_dir), indent=2))  # stages in pipeline order
        return
    from steep.pipeline.show import print_run

    print_run(run_dir)


@app.command()
def serve(
    run_dir: Path = typer.Argument(..., help="a run directory whose serve stage completed"),
    host: Optional[str] = typer.Option(None, help="override serve.host"),
    port: Optional[int] = typer.Option(None, help="override serve.port"),
) -> None:
    """Serve the run's final model through an OpenAI-compatible API (POST /v1/chat/completions)."""
    if not (run_dir / "serve" / "serve.json").exists():
        typer.secho(f"error: {run_dir}/serve/serve.json not found: run the pipeline through its serve stage first", fg="red", err=True)
        raise typer.Exit(1)
    from steep.stages.serve import serve_run_dir

    serve_run_dir(run_dir, host=host, port=port)


@app.command("demo-data")
def demo_data(
    out_dir: Path = typer.Argument(Path("examples/demo/data"), help="where to write the demo domain"),
    seed: int = typer.Option(0, help="generator seed"),
    scale: float = typer.Option(1.0, help="size multiplier (tests use ~0.1)"),
) -> None:
    """Generate the bundled demo domain (Kestrel Mutual): a dirty document lake, labels, and every stage's data."""
    from steep.demo.domain import generate_demo_domain

    counts = generate_demo_domain(out_dir, seed=seed, scale=scale)
    for name, count in counts.items():
        typer.echo(f"{out_dir / name}: {count} rows")


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
