"""One output channel: everything steep says goes through stdlib logging under the `steep` logger.

    log = get_logger("sft")            # steep.sft
    log.info("format adherence before: 0.125")

`console_logging()` (called once by the CLI) prints those records on the terminal through rich, with the seconds
since start; `run_log(run_dir)` adds `<run_dir>/run.log` for the duration of a run, so every line a run printed,
curate's included (its modules log to `steep.curate.*`), is also on disk with a timestamp and its logger name.
Library chatter (transformers, datasets, trl) is held back to errors by `quiet_libraries()`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.markup import escape

ROOT = "steep"
RUN_LOG_NAME = "run.log"

console = Console(highlight=False)


def get_logger(name: str) -> logging.Logger:
    """`steep.<name>`: a stage (`sft`), a component (`curate.readers`) or a module's `__name__`."""
    return logging.getLogger(name if name == ROOT or name.startswith(ROOT + ".") else f"{ROOT}.{name}")


class _ConsoleHandler(logging.Handler):
    """`   12.3s [sft] message`: the stage (first name under `steep.`) in brackets, warnings in yellow."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.started = time.time()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            parts = record.name.split(".")
            where = f"[{parts[1]}] " if len(parts) > 1 else ""
            style = {logging.WARNING: "yellow", logging.ERROR: "red", logging.CRITICAL: "red"}.get(record.levelno)
            text = escape(where + record.getMessage())
            console.print(f"[dim]{time.time() - self.started:7.1f}s[/dim] " + (f"[{style}]{text}[/{style}]" if style else text))
        except Exception:  # a logging handler must never take the run down
            self.handleError(record)


def console_logging() -> None:
    """Show `steep.*` records at INFO and above on the terminal (idempotent)."""
    root = logging.getLogger(ROOT)
    root.setLevel(logging.INFO)
    if not any(isinstance(h, _ConsoleHandler) for h in root.handlers):
        root.addHandler(_ConsoleHandler())


@contextlib.contextmanager
def run_log(run_dir: Path) -> Iterator[Path]:
    """Append every `steep.*` record to `<run_dir>/run.log` while the block runs."""
    path = Path(run_dir) / RUN_LOG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger(ROOT)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()


def quiet_libraries() -> None:
    """Keep library chatter (progress bars, advisory warnings) out of the run log; errors still show."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    for name in ("transformers", "datasets", "trl", "peft", "accelerate", "torch"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    # Environment variables, not imports: importing transformers costs seconds (it pulls in torch), and a run of
    # stages that never load a model (curate) must not pay for it. Each library reads these when it is imported.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # transformers' own bars follow the hub's switch
    os.environ.setdefault("DATASETS_VERBOSITY", "error")
    if "transformers" in sys.modules:  # already imported (a test, a notebook): tell it directly
        transformers = sys.modules["transformers"]
        transformers.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
    if "datasets" in sys.modules:
        datasets = sys.modules["datasets"]
        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()
