"""The time gate's text reading: dates and years in context, numbers that are not years, plans, anachronisms."""

from __future__ import annotations

from datetime import date

import pytest

from steep.curate.config import TimeGateConfig, TimeInferConfig
from steep.curate.document import Document, Drop
from steep.curate.gates import TimeGate, meta_value
from steep.curate.time_text import post_cutoff_evidence, year_mentions

CUTOFF = date(1930, 12, 31)


@pytest.mark.parametrize(
    "text",
    [
        "The Olympic games opened in Berlin in August 1936.",
        "The war in Europe ended on 8 May 1945.",
        "He was sworn in on January 30, 1933.",
        "Minutes of the meeting held 1931-04-02.",
        "Signed at Geneva, 2/4/1934.",
        "The census of 1950 counted 150 million people.",
        "the 1936 edition, revised",
        "Growth was fastest in the 1940s.",
        "Copyright © 1947 by the author.",
        "Prices rose in 1931 and again in 1932.",
    ],
)
def test_post_cutoff_mentions_are_evidence(text):
    assert post_cutoff_evidence(text, CUTOFF) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Kindly remit $1,960 to our office.",  # a price
        "He paid £1935 for the house.",  # a price without a separator
        "The regiment marched 1934 miles.",  # a measure
        "In the year just closed the society admitted 1931 new members.",  # a count
        "Our office is at 1938 Market Street.",  # an address
        "Account No. 1947 remains unpaid.",  # an identifier
        "See page 1932 of the Gazetteer.",  # a page
        "Telephone Central 555-1942 for appointments.",  # a phone number
        "Lot 1936: a mahogany writing desk.",  # a lot number
        "Our forecast for 1935 is a steady rise.",  # a plan
        "The directors expect the line to reach the coast by 1935.",  # a plan
        "On 1 March 1936 the branch is expected to open.",  # a planned date
        "Revenue was 1,935,000 dollars.",  # a thousands group
        "He was born in 1822 and died in 1889.",  # before the cutoff
        "The final meeting was on 31 December 1930.",  # the cutoff's last day itself
        "A single 1937 in a table of figures.",  # one bare number is not enough
    ],
)
def test_numbers_that_are_not_post_cutoff_years_are_not_evidence(text):
    assert post_cutoff_evidence(text, CUTOFF) is None


def test_a_year_alone_cannot_cross_a_mid_year_cutoff_but_a_date_can():
    mid = date(2024, 6, 30)
    assert post_cutoff_evidence("Figures for 2024 were good.", mid) is None
    assert post_cutoff_evidence("Published on 2 September 2024.", mid).kind == "date"
    assert post_cutoff_evidence("The 2025 edition.", mid).year == 2025


def test_mentions_report_where_they_are():
    [mention] = year_mentions("Printed in 1936.")
    assert (mention.year, mention.kind, mention.offset) == (1936, "year", 11)


def _gate(**kwargs) -> TimeGate:
    return TimeGate(TimeGateConfig(cutoff=1930, **kwargs))


def test_undated_infer_drops_by_text_and_counts():
    gate = _gate()
    post = Document("a", "The new radar station opened on the coast.")
    pre = Document("b", "The steamer left with 2,208 souls aboard; fares were 13 pounds.")
    dated = Document("c", "Opened in 1936.", {"date": "1929-05-01"})  # metadata wins over text
    out = [gate.apply(d) for d in (post, pre, dated)]
    assert isinstance(out[0], Drop) and out[0].reason == "time:anachronism:radar"
    assert out[1] is pre and out[2] is dated
    assert gate.stats.counters["undated"] == 2
    assert gate.stats.counters["undated_dropped"] == 1 and gate.stats.counters["undated_kept"] == 1


def test_undated_keep_and_drop_are_explicit():
    doc = Document("a", "In 1936 the games were held in Berlin.")
    assert _gate(undated="keep").apply(doc) is doc
    assert _gate(undated="drop").apply(doc).reason == "time:undated"
    assert _gate(undated="infer").apply(doc).reason == "time:text:year"


def test_builtin_terms_respect_the_cutoff_year():
    doc = Document("a", "Television sets are now in many homes, and radar guides ships.")
    assert TimeGate(TimeGateConfig(cutoff=1950)).apply(doc) is doc  # both older than 1950
    off = TimeGateConfig(cutoff=1930, infer=TimeInferConfig(builtin_terms=False))
    assert TimeGate(off).apply(doc) is doc


def test_dotted_date_field_reads_nested_meta():
    assert meta_value({"published": {"date": "1936-01-01"}}, "meta.published.date") == "1936-01-01"
    assert meta_value({"a.b": 1, "a": {"b": 2}}, "a.b") == 1  # a key with a literal dot first
    gate = _gate(date_field="published.date")
    doc = Document("a", "Quiet text.", {"published": {"date": "1936-01-01"}})
    assert gate.apply(doc).reason == "time:date>cutoff"


def test_mined_ngrams_and_lake_classifier_learn_from_dated_documents():
    from steep.curate.config import LakeClassifierConfig, MineConfig

    pre = [Document(f"pre{i}", f"The steam packet sailed at dawn with mail number {i} aboard.", {"date": 1900 + i % 20}) for i in range(30)]
    post = [Document(f"post{i}", f"The jetliner service to the airport terminal left gate {i}.", {"date": 1950 + i % 20}) for i in range(30)]
    lake = pre + post
    cfg = TimeGateConfig(
        cutoff=1930,
        infer=TimeInferConfig(builtin_terms=False, mine=MineConfig(min_dated=10), classifier=LakeClassifierConfig(min_dated=10, threshold=0.6)),
    )
    gate = TimeGate(cfg, corpus=lambda: iter(lake))
    drop = gate.apply(Document("u1", "Passengers for the jetliner service wait in the airport terminal."))
    assert isinstance(drop, Drop) and drop.reason.startswith("time:mined:")
    assert gate.apply(Document("u2", "The steam packet sailed at dawn.")).__class__ is Document
    assert gate.learned().classifier is not None
    assert gate.learned().classifier.probability("the jetliner service terminal") > 0.6


def test_imprints_count_and_tables_of_figures_do_not():
    assert post_cutoff_evidence("Printed in London, 1936.", CUTOFF).kind == "year"
    assert post_cutoff_evidence("Qty 1995 2010 2034 2051 units shipped", CUTOFF) is None
    assert post_cutoff_evidence("Item codes: 1995 / 2010; stock 2034 and 2051", CUTOFF) is None


def test_a_term_one_ocr_error_from_an_older_word_needs_company():
    gate = _gate()
    scanned = Document("a", "The pay of internet during construction is to be found out of the revenue.")  # 'interest'
    assert gate.apply(scanned) is scanned
    assert gate.apply(Document("b", "Read the blog post about internet access.")).reason.startswith("time:anachronism:")


def test_random_digit_soup_never_raises():
    import random

    rng = random.Random(0)
    alphabet = "0123456789 ./-,:;()$£'sthndrAMayJanuaryin of by "
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        for mention in year_mentions(text):
            assert 1000 <= mention.year <= 2199
        post_cutoff_evidence(text, CUTOFF)
