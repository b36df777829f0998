"""The demo domain's contract: the names, formats and business rules other parts of steep refer to.

`steep.demo.domain` re-exports everything here; import from there. Kept in its own module so the generator's
helper modules can use the constants without importing the generator.
"""

from __future__ import annotations

DOMAIN_VERSION = "2"  # 2: canaries.jsonl, and canary lines in three lake documents

COMPANY = "Kestrel Mutual"
SYSTEM_PROMPT = (
    "You are Kestrel Mutual's support assistant. Answer customer questions about our policies and products "
    "briefly, in the house format, and cite the governing policy."
)
# Two lines: `Answer: ...` then `Source: POL-dddd`. Use with re.fullmatch (DOTALL off, so `.+` stays on one line).
ANSWER_FORMAT_REGEX = r"^Answer: .+\nSource: POL-\d{4}$"
DISCLAIMER = "This is general information, not financial advice."
ACCOUNT_NUMBER_REGEX = r"\b\d{10}\b"
# Counted like the rules judge counts: len(assistant_message.split()) over the whole message.
MAX_ANSWER_WORDS = 60
POLICY_ID_REGEX = r"POL-\d{4}"
CASE_ID_REGEX = r"CASE-\d{5}"
RESTRICTED_CODENAMES = ("Project Bluefin", "Project Kingfisher")
CUTOFF_DATE = "2024-06-30"
# Every post-cutoff term appears only in documents labeled post_cutoff (and never in chat data or general text).
POST_CUTOFF_TERMS = (
    "Kestrel Horizon Card",
    "Horizon Rewards",
    "Q3 2024 results",
    "Q4 2024 results",
    "2025 rate review",
)
OCR_PAGE_HEADER = "KESTREL MUTUAL — INTERNAL"

LAKE_KINDS = ("policy", "procedure", "product_spec", "earnings_call", "support_log")
PII_TYPES = ("email", "phone", "card", "iban", "ssn", "ip", "name_account")

LAKE_FILE = "lake.jsonl"
LABELS_FILE = "labels.jsonl"
GENERAL_FILE = "general.jsonl"
GENERAL_HELDOUT_FILE = "general_heldout.jsonl"
GENERAL_CHAT_FILE = "general_chat.jsonl"
DOMAIN_HELDOUT_FILE = "domain_heldout.jsonl"
SFT_TRAIN_FILE = "sft_train.jsonl"
SFT_HELDOUT_FILE = "sft_heldout.jsonl"
DPO_PROMPTS_FILE = "dpo_prompts.jsonl"
DPO_HELDOUT_FILE = "dpo_heldout.jsonl"
RS_SCENARIOS_FILE = "rs_scenarios.jsonl"
RS_HELDOUT_FILE = "rs_heldout.jsonl"
CANARIES_FILE = "canaries.jsonl"  # values that must never leave the lake (`steep.demo.domain_canaries`)
MANIFEST_FILE = "manifest.json"

DOMAIN_FILES = (
    LAKE_FILE,
    LABELS_FILE,
    GENERAL_FILE,
    GENERAL_HELDOUT_FILE,
    GENERAL_CHAT_FILE,
    DOMAIN_HELDOUT_FILE,
    SFT_TRAIN_FILE,
    SFT_HELDOUT_FILE,
    DPO_PROMPTS_FILE,
    DPO_HELDOUT_FILE,
    RS_SCENARIOS_FILE,
    RS_HELDOUT_FILE,
    CANARIES_FILE,
)
