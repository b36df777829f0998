"""`pii.engine: presidio`: Presidio's pattern recognizers plus ours, offline, through Presidio's anonymizer."""

from __future__ import annotations

import importlib.util
import os
import socket

import pytest
from pydantic import ValidationError

from steep.curate.config import CurateConfig, PiiConfig
from steep.curate.document import Document
from steep.curate.pii import PiiRedactor

# find_spec, not importorskip: importing presidio_analyzer directly drags in torch (10+ s); the engine hides it.
pytestmark = pytest.mark.skipif(importlib.util.find_spec("presidio_analyzer") is None, reason="presidio not installed")

TEXT = (
    "Mail jane@corp.com, card 4111 1111 1111 1111, IBAN GB29 NWBK 6016 1331 9268 19, from 81.2.69.160. "
    "Account holder: Jane Doe, account no. 4410023987. Key AKIAQWERTYUIOPASDFGH."
)


@pytest.fixture(scope="module")
def offline(request, tmp_path_factory):
    """No network for the module: every socket connect and DNS lookup raises, and tldextract's cache is empty (so
    its default extractor WOULD fetch the public suffix list: only the bundled snapshot may be used)."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    saved = socket.socket.connect, socket.getaddrinfo, os.environ.get("TLDEXTRACT_CACHE")
    socket.socket.connect, socket.getaddrinfo = refuse, refuse
    os.environ["TLDEXTRACT_CACHE"] = str(tmp_path_factory.mktemp("tldextract-cache"))

    def restore():
        socket.socket.connect, socket.getaddrinfo = saved[0], saved[1]
        if saved[2] is None:
            os.environ.pop("TLDEXTRACT_CACHE", None)
        else:
            os.environ["TLDEXTRACT_CACHE"] = saved[2]

    request.addfinalizer(restore)


def test_presidio_engine_redacts_offline(offline):
    block = PiiRedactor(PiiConfig(engine="presidio"))
    out = list(block.run([Document("a", TEXT), Document("b", "nothing to see")]))
    assert out[0].text == (
        "Mail <EMAIL>, card <CARD>, IBAN <IBAN>, from <IP>. Account holder: <NAME>, account no. <ACCOUNT>. "
        "Key <SECRET>."
    )
    assert out[0].meta["pii_redacted"] == {"account": 1, "card": 1, "email": 1, "iban": 1, "ip": 1, "name": 1,
                                           "secret": 1}  # fmt: skip
    assert out[1].text == "nothing to see"


def test_presidio_engine_pseudonyms_go_through_the_anonymizer(offline):
    block = PiiRedactor(PiiConfig(engine="presidio", style="pseudonym", types=["email"]))
    once = block.redact("Mail jane@corp.com and again jane@corp.com")
    first, second = once.split(" and again ")
    assert first.removeprefix("Mail ") == second and second.endswith("@example.com")


def test_missing_presidio_fails_at_config_time(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name.startswith("presidio") else real(name, *a)
    )
    with pytest.raises(ValidationError, match=r"pip install 'steep\[presidio\]'"):
        CurateConfig(inputs=["x.jsonl"], pii={"engine": "presidio"})
