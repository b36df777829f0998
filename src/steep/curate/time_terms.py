"""Terms first attested after a given year: anachronism evidence the time gate reads in undated documents.

    terms_after(1930)   # {'radar': 1941, 'nylon': 1938, ...}: a text naming one was written after 1930

Each year is when the term came into print in this sense (the Oxford/Merriam-Webster first-use dates, rounded
up to when it was in general use where the first citation is an isolated coinage), so a pre-cutoff text cannot
contain it. Only unambiguous terms: "computer" (a person who computes, long before 1940), "radio" or "jet" have
older senses and are left out. The list is short on purpose; the lake's own post-cutoff n-grams
(`time.infer.mine`) and the operator's `time.terms` extend it.
"""

from __future__ import annotations

FIRST_ATTESTED: dict[str, int] = {
    # science and technology
    "vitamin": 1912, "vitamins": 1912, "quantum mechanics": 1925, "penicillin": 1929, "nylon": 1938,
    "radar": 1941, "antibiotic": 1942, "antibiotics": 1942, "sonar": 1946, "transistor": 1948, "big bang": 1949,
    "fax machine": 1948, "software": 1958, "laser": 1960, "microchip": 1969, "cd-rom": 1983, "internet": 1982,
    "e-mail": 1982, "email address": 1990, "website": 1993, "web site": 1993, "web browser": 1993,
    "dvd": 1995, "smartphone": 1997, "wi-fi": 1999, "wifi": 1999, "blog": 1999, "podcast": 2004,
    "bitcoin": 2008, "blockchain": 2008, "cryptocurrency": 2009, "iphone": 2007, "android phone": 2008,
    "app store": 2008, "hashtag": 2007, "selfie": 2002, "youtube": 2005, "facebook": 2004, "instagram": 2010,
    "chatgpt": 2022, "large language model": 2019, "large language models": 2019, "covid-19": 2020, "covid": 2020,
    "sars-cov-2": 2020, "brexit": 2012, "cyberspace": 1982, "genocide": 1944, "teenager": 1941,
    # history, institutions
    "league of nations": 1918, "soviet union": 1922, "ussr": 1922, "u.s.s.r.": 1922, "first world war": 1920,
    "world war i": 1939, "world war ii": 1939, "second world war": 1939, "nazi": 1930, "nazis": 1930,
    "united nations": 1942, "cold war": 1945, "iron curtain": 1946, "sputnik": 1957, "european union": 1992,
    # everyday life
    "jazz": 1915, "robot": 1923, "motel": 1925, "supermarket": 1933, "bikini": 1946, "microwave oven": 1955,
}  # fmt: skip


# Terms one OCR misreading away from an older common word ("pay of interest" scanned as "pay of internet" in an 1893
# newspaper of the ICDAR 2017 set): alone they are not evidence; two distinct ones are.
OCR_CONFUSABLE: dict[str, str] = {
    "internet": "interest", "laser": "later", "motel": "hotel", "sonar": "solar", "blog": "blot", "robot": "robes",
    "nazi": "nazir", "jazz": "jams",
}  # fmt: skip


def terms_after(year: int) -> dict[str, int]:
    """The built-in terms first attested after `year`, with their year."""
    return {term: first for term, first in FIRST_ATTESTED.items() if first > year}
