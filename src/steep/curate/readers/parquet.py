"""Parquet: one document per row, read `read.parquet_batch_rows` rows at a time (a 50 GB file never sits in
memory). Columns fold like JSONL keys: `text` (required), `id` and `meta` optional, any other column goes to
`meta`. `meta` may be a struct column or a JSON string. Dates, timestamps and decimals become JSON-safe
values (ISO strings, floats) so the writer can store them; `meta.source` is `path:row N` (N from 1).

    for item in read_parquet(Path("docs.parquet"), FileContext(ReadConfig(), Path("."))): ...
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from steep.curate.document import Document
from steep.curate.readers.base import EMPTY, SNIPPET_CHARS, BadInput, FileContext, too_large
from steep.curate.readers.jsonl import BadRow, row_to_document


def read_parquet(path: Path, ctx: FileContext) -> Iterator[Document | BadInput]:
    import pyarrow as pa
    import pyarrow.parquet as pq  # lazy: pyarrow costs ~0.3 s to import and JSONL-only runs never need it

    try:
        handle = pq.ParquetFile(path)
    except (pa.ArrowException, OSError, ValueError) as err:  # a damaged footer or magic bytes
        yield BadInput(str(path), f"not a readable Parquet file: {err}")
        return
    columns = handle.schema_arrow.names
    if ctx.cfg.text_key not in columns:
        yield BadInput(str(path), f"no {ctx.cfg.text_key!r} column (columns: {', '.join(columns)})")
        return
    if handle.metadata.num_rows == 0:
        yield BadInput(str(path), "Parquet file has no rows", reason=EMPTY)
        return
    limit = ctx.cfg.max_doc_bytes
    stem = path.name.split(".")[0]
    rowno = 0
    try:
        for batch in handle.iter_batches(batch_size=ctx.cfg.parquet_batch_rows):
            for row in batch.to_pylist():
                rowno += 1
                source = f"{path}:row {rowno}"
                text = row.get(ctx.cfg.text_key)
                if isinstance(text, str) and len(text) > limit // 4 and len(text.encode()) > limit:
                    yield too_large(source, len(text.encode()), limit)
                    continue
                if isinstance(row.get("meta"), str):
                    try:
                        row["meta"] = json.loads(row["meta"])
                    except json.JSONDecodeError as err:
                        yield BadInput(source, f"'meta' is a string but not JSON: {err.msg}")
                        continue
                try:
                    row = {k: v if k == ctx.cfg.text_key else _jsonable(v) for k, v in row.items()}
                    yield row_to_document(row, source, f"{stem}-{rowno}", ctx)
                except BadRow as why:
                    yield BadInput(source, str(why), snippet=str(text)[:SNIPPET_CHARS] if text is not None else "")
    except (
        pa.ArrowException,
        OSError,
        ValueError,
    ) as err:  # a corrupt page mid-file: report the rest, keep the rows read
        yield BadInput(f"{path}:row {rowno + 1}", f"Parquet read failed after {rowno} row(s): {err}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value
