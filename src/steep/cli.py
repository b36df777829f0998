"""The `steep` command line. Thin glue: parse, validate, hand over to steep.pipeline; no stage logic here.

    steep run examples/demo/pipeline.yaml [--from sft] [--until dpo] [sft.lora.r=4 ...]
    steep sft examples/demo/pipeline.yaml          # one stage (its inputs must be complete)
    steep show runs/demo [--json]
    steep report runs/demo                         # rebuild runs/demo/eval/report.html and report.md
    steep serve runs/demo [--port 8000] [serve.rate_limit.burst=50 ...]
    steep serve path/to/hf-model --adapter support=path/to/adapter [--config pipeline.yaml]
    steep export runs/demo --to exports/demo [--adapter name=path ...]
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


def _named_paths(pairs: list[str], what: str) -> dict[str, Path]:
    named: dict[str, Path] = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not name.strip() or not path.strip():
            typer.secho(f"error: {what} must look like name=path, got {pair!r}", fg="red", err=True)
            raise typer.Exit(2)
        if not Path(path).is_dir():
            typer.secho(f"error: {what} {name}: no directory at {path}", fg="red", err=True)
            raise typer.Exit(2)
        named[name.strip()] = Path(path.strip())
    return named


@app.command()
def report(
    run_dir: Path = typer.Argument(..., help="a run directory"),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="where to write report.html and report.md (default: RUN_DIR/eval, or RUN_DIR without an eval stage)"),
) -> None:
    """Rebuild the run report (self-contained report.html with charts, and report.md) from the run directory."""
    if not run_dir.is_dir():
        typer.secho(f"error: no run directory at {run_dir}", fg="red", err=True)
        raise typer.Exit(1)
    from steep.report.build import write_report

    for path in write_report(run_dir, out_dir):
        typer.echo(f"report: {path}")


@app.command()
def serve(
    target: Path = typer.Argument(..., help="a run directory whose serve stage completed, or a Hugging Face model directory"),
    overrides: Optional[list[str]] = typer.Argument(None, help="serve.key=value overrides, e.g. serve.port=9000"),
    adapter: Optional[list[str]] = typer.Option(None, "--adapter", help="name=path of a LoRA adapter, served as model `name` (repeatable)"),
    config: Optional[Path] = typer.Option(None, "--config", help="a pipeline YAML whose serve section to use (default: the run's, or defaults)"),
    host: Optional[str] = typer.Option(None, help="override serve.host"),
    port: Optional[int] = typer.Option(None, help="override serve.port"),
) -> None:
    """Serve a model through an OpenAI-compatible API (chat and completions, streaming, adapters, guardrails)."""
    from steep.pipeline.config import ConfigError, apply_override
    from steep.serve.config import ServeConfig
    from steep.stages.serve import serve_forever, served_model

    adapters = {name: str(path) for name, path in _named_paths(adapter or [], "--adapter").items()}
    try:
        model_dir, recorded, device, dtype, sha = served_model(target)
    except FileNotFoundError as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(1) from None
    raw: dict = {"serve": dict(recorded or {})}
    if config is not None:
        pipeline = _load(config, [])
        raw["serve"] = pipeline.serve.model_dump(mode="json") if pipeline.serve else {}
    raw["serve"].pop("enabled", None)
    raw["serve"].pop("smoke_prompt", None)
    if recorded is not None and not raw["serve"].get("audit_log"):
        raw["serve"]["audit_log"] = str(target / "serve" / "audit.jsonl")
    try:
        for override in overrides or []:
            if not override.startswith("serve."):
                raise ConfigError("command line", [(override, "only serve.* keys can be overridden here")])
            apply_override(raw, override, "command line")
        cfg = ServeConfig.model_validate(raw["serve"])
    except ConfigError as error:
        typer.secho(str(error), fg="red", err=True)
        raise typer.Exit(2) from None
    except ValueError as error:  # pydantic's ValidationError
        typer.secho(f"invalid serve config: {error}", fg="red", err=True)
        raise typer.Exit(2) from None
    cfg = cfg.model_copy(update={k: v for k, v in (("host", host), ("port", port)) if v is not None})
    try:
        serve_forever(model_dir, cfg, device, dtype, sha, adapters=adapters)
    except RuntimeError as error:  # no keys on a public address, a key variable unset
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(1) from None


@app.command()
def export(
    run_dir: Path = typer.Argument(..., help="a run directory with a finished model stage"),
    to: Path = typer.Option(..., "--to", help="where to write the export"),
    adapter: Optional[list[str]] = typer.Option(None, "--adapter", help="name=path of a LoRA adapter to ship for vLLM (repeatable)"),
    port: int = typer.Option(8000, help="port in the printed vllm command"),
) -> None:
    """Export the merged model directory and the exact `vllm serve` command (adapters checked; DoRA merged)."""
    from steep.pipeline.export import export_run

    try:
        record = export_run(run_dir, to, _named_paths(adapter or [], "--adapter"), port=port)
    except (FileNotFoundError, ValueError) as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"model: {record['model_dir']}")
    for name, entry in record["adapters"].items():
        typer.echo(f"adapter {name}: " + (f"LoRA for vLLM at {entry['path']}" if entry["vllm_lora"] else f"vLLM refuses it ({entry['why']}): merged into {entry['merged_into']}"))
    typer.echo(f"vLLM command (also in {to / 'vllm_serve.sh'}):\n  {record['vllm_serve']}")
    for name, entry in record["adapters"].items():
        if not entry["vllm_lora"]:
            typer.echo(f"  {entry['vllm_serve']}   # {name}, merged")


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
