"""Clean Kestrel Mutual documents, one generator per kind: policy, procedure, product_spec, earnings_call,
support_log. Each returns a `Draft` (lines plus metadata) so the lake builder can plant PII, decoys, codenames or
post-cutoff news into it before the text is fixed; `Draft.text(fancy)` renders it, with typographic quotes and
dashes when `fancy` (which is what gives mojibake something to mangle).

Facts come from `domain_world`; the seed only picks which facts, framing sentences, dates and numbers appear.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from random import Random

from steep.demo.domain_catalog import ANALYSTS, EXECUTIVES, HORIZON_CARD, PRODUCTS
from steep.demo.domain_spec import CUTOFF_DATE
from steep.demo.domain_world import ALL_FACTS, POLICIES, Policy, Product

CUTOFF = dt.date.fromisoformat(CUTOFF_DATE)
LAKE_START = dt.date(2019, 1, 1)
LAKE_END = dt.date(2025, 12, 31)


@dataclass
class Draft:
    kind: str
    title: str
    source: str
    date: str | None
    lines: list[str]
    head: int = 1  # planted lines go after the first `head` lines
    pii: list[dict[str, str]] = field(default_factory=list)

    def text(self, fancy: bool) -> str:
        return typeset("\n".join(self.lines), fancy)

    def words(self) -> int:
        return sum(len(line.split()) for line in self.lines)


def typeset(text: str, fancy: bool) -> str:
    """Straight ASCII punctuation, or the curly quotes and dashes a word processor produces."""
    if not fancy:
        return text
    text = re.sub(r'"([^"\n]*)"', "\u201c\\1\u201d", text)
    return text.replace("'", "\u2019").replace(" - ", " \u2013 ")


def random_date(rng: Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def _fit(head: list[str], body: list[str], tail: list[str], rng: Random, lo: int = 70, hi: int = 190) -> list[str]:
    """head + as many body items (in order) as keep the document under a random target in [lo+20, hi] words.

    An item may span several lines (a customer/agent exchange, an analyst's question and its answer): it is kept
    or dropped whole, and planted lines only ever go between items."""
    target = rng.randint(lo + 20, hi)
    lines = list(head)
    count = sum(len(x.split()) for x in head + tail)
    for line in body:
        n = len(line.split())
        if count + n > target and count >= lo:
            break
        lines.append(line)
        count += n
    return lines + tail


def _numbered(items: list[str]) -> list[str]:
    return [f"{i}. {item}" for i, item in enumerate(items, start=1)]


# --- policy ---------------------------------------------------------------------------------------------------

_SCOPES = (
    "This policy applies to all staff in branches, contact centres and operations teams.",
    "It applies to every customer-facing colleague and to third parties acting for Kestrel Mutual.",
    "All colleagues who deal with {topic} must follow this policy.",
    "This policy covers retail customers in the UK and customers of our US branch.",
    "The policy applies to new and existing customers, whichever channel they use.",
    "Contractors and temporary staff are bound by this policy from their first day.",
)
_GENERIC_RULES = (
    "Every decision must be recorded in the case log on the same business day.",
    "Customers in vulnerable circumstances must be offered extra support and more time.",
    "Staff must explain the outcome in plain language and confirm it in writing.",
    "Exceptions require written approval from the {owner}.",
    "Any breach of this policy must be reported to Compliance within 24 hours.",
    "Customers must be told how to complain if they are unhappy with a decision.",
    "Staff must check the customer's identity before discussing any account details.",
    "Calls about {topic} may be recorded for training and quality purposes.",
    "Staff must not promise outcomes that this policy does not allow.",
    "Large print, braille and audio versions must be offered on request.",
    "Fees or interest charged in breach of this policy must be refunded.",
    "Team leaders must sample five cases a month for quality checks.",
)
_POLICY_TAILS = (
    "This policy is reviewed every 12 months by the {owner}.",
    "Questions about this policy should be sent to the team of the {owner}.",
    "The related procedure is PRC-{prc}.",
    "The intranet version of this policy is the authoritative one.",
    "Approved by the Risk Committee on {approved}.",
    "Breaches are reported quarterly to the Board Risk Committee.",
)


def procedure_id(policy: Policy) -> str:
    return f"PRC-{int(policy.pid[4:]) + 1000}"


def policy_doc(rng: Random, policy: Policy, date: dt.date, hi: int = 200) -> Draft:
    fmt = {"topic": policy.topic, "owner": policy.owner, "prc": procedure_id(policy)[4:],
           "approved": (date - dt.timedelta(days=rng.randint(7, 60))).isoformat()}
    rules = [f.rule for f in policy.facts]
    if len(rules) > 3 and rng.random() < 0.4:
        rules.pop(rng.randrange(len(rules)))
    for rule in rng.sample(_GENERIC_RULES, rng.randint(1, 4)):
        rules.insert(rng.randint(0, len(rules)), rule.format(**fmt))
    head = [f"{policy.pid} - {policy.title}",
            f"Version {rng.randint(1, 6)}.{rng.randint(0, 9)}. Effective {date.isoformat()}. Owner: {policy.owner}.",
            f"Purpose: {policy.purpose}", "Scope: " + rng.choice(_SCOPES).format(**fmt), "Rules:"]
    tail = [t.format(**fmt) for t in rng.sample(_POLICY_TAILS, rng.randint(1, 3))]
    lines = _fit(head, _numbered(rules), tail, rng, hi=hi)
    source = f"sharepoint/policies/{policy.pid}_v{rng.randint(1, 9)}.docx"
    title = f"{policy.title} ({policy.pid})"
    return Draft("policy", title, source, date.isoformat(), lines, head=len(lines) - len(tail))


# --- procedure ------------------------------------------------------------------------------------------------

_TEAMS = ("contact centre agents", "branch staff", "the operations back office", "the specialist support team",
          "claims handlers", "the digital support team")
_OPENING_STEPS = (
    "Greet the customer and confirm their identity with two security questions.",
    "Open a case in the case system and note the case number.",
    "Check the customer's recent account activity for anything unusual.",
    "Ask the customer what outcome they are hoping for.",
    "Check whether the customer has told us about any vulnerability.",
)
_CLOSING_STEPS = (
    "Explain the outcome to the customer and confirm it in writing within 2 business days.",
    "Record every decision in the case log before closing the case.",
    "Offer the customer a copy of the relevant policy.",
    "If the customer is unhappy, explain how to complain under POL-1288.",
    "Set a follow-up reminder if the customer is waiting for a third party.",
)
_STEP_LEADS = ("Check against {pid}: ", "Apply {pid}: ", "Remember: ", "", "Rule from {pid}: ")
_PROCEDURE_NOTES = (
    "Notes: escalate anything unusual to a team leader.",
    "Notes: this procedure replaces the version issued in {year}.",
    "Notes: do not skip the identity check, even for customers you know.",
    "Notes: use plain language and avoid internal jargon.",
    "Notes: if systems are down, record the call on paper and enter it later.",
)


def procedure_doc(rng: Random, policy: Policy, date: dt.date, hi: int = 200) -> Draft:
    steps = rng.sample(_OPENING_STEPS, rng.randint(1, 2))
    for fact in rng.sample(policy.facts, rng.randint(2, len(policy.facts))):
        steps.append(rng.choice(_STEP_LEADS).format(pid=policy.pid) + fact.rule)
    steps += rng.sample(_CLOSING_STEPS, rng.randint(1, 2))
    head = [f"Procedure {procedure_id(policy)} - {policy.task}",
            f"Governing policy: {policy.pid} ({policy.title}).", f"Applies to: {rng.choice(_TEAMS)}.",
            f"Last reviewed: {date.isoformat()}.", "Steps:"]
    tail = [rng.choice(_PROCEDURE_NOTES).format(year=date.year - rng.randint(1, 3))]
    lines = _fit(head, _numbered(steps), tail, rng, hi=hi)
    source = f"confluence/ops/{procedure_id(policy)}-{rng.randint(1, 40)}.html"
    return Draft("procedure", f"{policy.task} ({procedure_id(policy)})", source, date.isoformat(), lines,
                 head=len(lines) - len(tail))


# --- product spec ---------------------------------------------------------------------------------------------

_PRODUCT_NOTES = (
    "{name} is sold through the app, online and in branch.",
    "Marketing material for {name} must quote the figures above and name the governing policy {pid}.",
    "Staff should direct detailed questions about {name} to the product team.",
    "The figures above are the ones customers see in the app and on the website.",
    "Any change to these terms needs sign-off from the pricing committee and 30 days' notice to customers.",
    "Customer feedback on {name} is reviewed every quarter.",
    "Complaints about {name} follow POL-1288, the Complaints Handling Policy.",
    "The {kind} is available to UK residents aged 18 or over unless stated otherwise.",
    "Sales staff must not give advice on whether {name} suits a customer; they may only explain its features.",
    "This specification supersedes all earlier versions for {name}.",
)


def product_doc(rng: Random, product: Product, date: dt.date, hi: int = 150) -> Draft:
    fmt = {"name": product.name, "pid": product.pid, "kind": product.kind}
    attrs = [a for a in product.attrs if rng.random() < 0.8] or list(product.attrs[:3])
    head = [f"Product specification - {product.name}", f"Product type: {product.kind}.",
            f"Governing policy: {product.pid}.", f"Last updated: {date.isoformat()}."]
    head += [f"{k}: {v}." for k, v in attrs]
    notes = [n.format(**fmt) for n in rng.sample(_PRODUCT_NOTES, 6)]
    lines = _fit(head, notes, [], rng, lo=60, hi=min(hi, 150))
    slug = product.name.lower().replace(" ", "-")
    source = f"pim/products/{slug}-{rng.randint(1, 30)}.md"
    return Draft("product_spec", f"{product.name} - product specification", source, date.isoformat(), lines, head=4)


# --- earnings call --------------------------------------------------------------------------------------------


def quarter_figures(seed: int, year: int, q: int) -> dict[str, str]:
    """The same quarter always reports the same figures, whichever document quotes them."""
    r = Random(f"{seed}:quarter:{year}:{q}")
    t = (year - 2019) * 4 + q
    return {
        "deposits": f"£{12.0 + 0.15 * t + r.uniform(-0.2, 0.2):.1f} billion",
        "nim": f"{r.uniform(1.8, 2.5):.2f}%",
        "combined": f"{r.uniform(91, 98):.1f}%",
        "profit": f"£{r.randint(70, 170)} million",
        "cet1": f"{r.uniform(15, 18):.1f}%",
        "customers": f"{1.6 + 0.02 * t:.2f} million",
        "mortgages": f"£{r.uniform(0.6, 1.4):.1f} billion",
        "app": f"{r.randint(55, 80)}%",
    }


_CEO_LINES = (
    "Customer deposits grew to {deposits}, and we now serve {customers} members.",
    "We completed {mortgages} of new mortgage lending, much of it to first-time buyers.",
    "{app} of our customers now use the app every month.",
    "Our insurance business wrote profitably, with a combined ratio of {combined}.",
    "Complaint volumes fell again, and satisfaction with our contact centre rose.",
    "We opened two new branches and refurbished five more.",
    "Savers benefited from higher rates, and the Flex Saver remained our most popular account.",
    "Claims teams settled most home claims within a month, even after the winter storms.",
    "We invested in fraud prevention, and card fraud losses fell for the third quarter running.",
    "Membership grew in every region, with the strongest growth in the north.",
)
_CFO_LINES = (
    "Profit before tax was {profit}.",
    "The net interest margin was {nim}, broadly in line with our guidance.",
    "Our CET1 ratio closed the quarter at {cet1}, well above regulatory minimums.",
    "Costs were flat on the prior quarter despite wage inflation.",
    "Arrears remain low, and impairment charges were modest.",
    "The motor and home books both ran at a combined ratio of {combined}.",
    "Mortgage balances grew by {mortgages}, with average loan to value below 60%.",
    "We keep our liquidity buffers well above the regulatory requirement.",
    "Operating expenses included a one-off charge for the new core banking platform.",
    "Deposit outflows to competitors were smaller than we had planned for.",
)
_QUESTIONS = (
    ("How do you see the margin developing from here?",
     "We expect the margin to stay close to {nim} as deposit pricing settles."),
    ("Can you say more about mortgage competition?",
     "Competition is intense, but we are winning share with first-time buyers."),
    ("What is driving the improvement in the insurance result?",
     "Fewer weather claims and better pricing both helped the combined ratio of {combined}."),
    ("How much capital do you plan to return to members?",
     "With CET1 at {cet1} we have room to invest in better rates for savers."),
    ("Are you seeing any stress in arrears?",
     "Not yet. Arrears are stable, and we keep helping customers early under POL-1644."),
    ("What are your priorities for technology spending?",
     "The core banking platform comes first, then better fraud tools in the app."),
    ("How are savings flows trending?",
     "Deposits reached {deposits}, and most new money went into the Flex Saver."),
    ("Could you update us on motor claims inflation?",
     "Repair costs are still rising, and we have priced for that in new business."),
    ("Do you expect further branch openings?",
     "We will keep opening branches where members ask for them, a few each year."),
)


def earnings_doc(rng: Random, year: int, q: int, figures: dict[str, str], hi: int = 230) -> Draft:
    quarter = f"Q{q} {year}"
    (ceo, ceo_role), (cfo, cfo_role) = EXECUTIVES
    call_date = dt.date(year, 3 * q, 28) + dt.timedelta(days=rng.randint(20, 30))
    head = [f"Kestrel Mutual {quarter} results call - transcript",
            f"Operator: Good morning, and welcome to Kestrel Mutual's {quarter} results call. "
            f"Today's speakers are {ceo}, {ceo_role}, and {cfo}, {cfo_role}."]
    body = [f"{ceo}: Thank you. " + " ".join(rng.sample(_CEO_LINES, rng.randint(2, 4))).format(**figures),
            f"{cfo}: " + " ".join(rng.sample(_CFO_LINES, rng.randint(2, 4))).format(**figures)]
    for (analyst, firm), (question, answer) in zip(rng.sample(ANALYSTS, 3), rng.sample(_QUESTIONS, 3)):
        body.append(f"Operator: The next question comes from {analyst} at {firm}.\n{analyst}, {firm}: {question}\n"
                    f"{rng.choice((ceo, cfo))}: {answer.format(**figures)}")
    tail = ["Operator: That concludes today's call. Thank you for joining."]
    lines = _fit(head, body, tail, rng, lo=90, hi=hi)
    return Draft("earnings_call", f"{quarter} results call", f"ir/transcripts/{year}-q{q}-{rng.randint(1, 9)}.txt",
                 call_date.isoformat(), lines, head=2)


# --- support log ----------------------------------------------------------------------------------------------

_OPENERS = ("", "Hi. ", "Hello. ", "Good morning. ", "Quick question. ", "Hi there. ")
_ACKS = ("", "Sure. ", "Of course. ", "Good question. ", "Thanks for waiting. ", "I can help with that. ")
_REACTIONS = ("Customer: OK, that makes sense.", "Customer: Right, thanks.", "Customer: I see.",
              "Customer: That's helpful.", "Customer: Hmm, OK.")
_CLOSINGS = ("Agent: You're welcome. Is there anything else I can help with?",
             "Agent: Happy to help. Have a good day.", "Agent: Thanks for contacting Kestrel Mutual.",
             "Agent: No problem at all. Take care.")


def support_doc(rng: Random, date: dt.date, hi: int = 170) -> Draft:
    channel = rng.choice(("chat", "phone", "email", "chat"))
    ticket = rng.randint(10000, 99999)
    head = [f"Ticket {ticket} - Channel: {channel} - Opened {date.isoformat()}"]
    body = []
    for k, (_, fact) in enumerate(rng.sample(ALL_FACTS, 5)):
        opener = rng.choice(_OPENERS) if k == 0 else ""
        exchange = f"Customer: {opener}{rng.choice(fact.questions)}\nAgent: {rng.choice(_ACKS)}{fact.answer}"
        body.append(exchange + ("\n" + rng.choice(_REACTIONS) if rng.random() < 0.3 else ""))
    tail = [rng.choice(("Customer: Thanks, that's all.", "Customer: Great, thank you.", "Customer: Perfect, bye."))
            + "\n" + rng.choice(_CLOSINGS)]
    lines = _fit(head, body, tail, rng, lo=60, hi=min(hi, 170))
    return Draft("support_log", f"Support ticket {ticket}",
                 f"zendesk/export/{date.year}/{date.month:02d}/ticket_{ticket}.txt", date.isoformat(), lines)


# --- choose a clean document ----------------------------------------------------------------------------------


def pre_cutoff_quarter(rng: Random) -> tuple[int, int]:
    """A quarter whose results call happened on or before the cutoff (Q1 2019 .. Q1 2024)."""
    t = rng.randint(0, 20)
    return 2019 + t // 4, t % 4 + 1


def clean_doc(rng: Random, seed: int, kind: str, date: dt.date, hi: int = 200) -> Draft:
    if kind == "policy":
        return policy_doc(rng, rng.choice(POLICIES), date, hi)
    if kind == "procedure":
        return procedure_doc(rng, rng.choice(POLICIES), date, hi)
    if kind == "product_spec":
        return product_doc(rng, rng.choice(PRODUCTS), date, hi)
    if kind == "earnings_call":
        year, q = pre_cutoff_quarter(rng)
        return earnings_doc(rng, year, q, quarter_figures(seed, year, q), hi)
    return support_doc(rng, date, hi)


# --- news after the cutoff ------------------------------------------------------------------------------------

_POST_LINES = {
    "policy": ("Update: following the 2025 rate review, the rates quoted under this policy will be revised.",
               "Update: from 16 September 2024 this policy also covers the Kestrel Horizon Card."),
    "procedure": ("Additional step: for the Kestrel Horizon Card, check the customer's Horizon Rewards balance first.",
                  "Additional step: quote the new rates from the 2025 rate review if the customer asks."),
    "support_log": ("Customer: How do I earn Horizon Rewards on my new Kestrel Horizon Card?\n"
                    "Agent: You earn 1% cashback on all purchases made with the Kestrel Horizon Card.",
                    "Customer: Will my Flex Saver rate change after the 2025 rate review?\n"
                    "Agent: The new rates from the 2025 rate review will appear in the app first."),
}


def post_cutoff_doc(rng: Random, seed: int, kind: str, date: dt.date, with_terms: bool, hi: int = 200) -> Draft:
    """A document from after the cutoff; with `with_terms` it names at least one of `POST_CUTOFF_TERMS`."""
    if kind == "earnings_call":
        if not with_terms:  # the Q2 2024 call happened in late July: after the cutoff, yet names no new term
            return earnings_doc(rng, 2024, 2, quarter_figures(seed, 2024, 2), hi)
        q = rng.choice((3, 4))
        draft = earnings_doc(rng, 2024, q, quarter_figures(seed, 2024, q), hi)
        draft.lines.insert(2, f"{EXECUTIVES[0][0]}: The highlight of the quarter was the launch of the Kestrel "
                              "Horizon Card, and Horizon Rewards has proved popular.")
        return draft
    if kind == "product_spec" and with_terms:
        return product_doc(rng, HORIZON_CARD, date, hi)
    draft = clean_doc(rng, seed, kind, date, hi)
    if with_terms:
        draft.lines.insert(rng.randint(draft.head, len(draft.lines) - 1), rng.choice(_POST_LINES[kind]))
    return draft


_RESTRICTED_LINES = (
    "{code}: the proposed acquisition of a regional building society is under NDA and must not be discussed "
    "outside the deal team.",
    "Until {code} completes, colleagues must not share integration plans with customers or suppliers.",
    "{code}: the board is reviewing a sale of part of the insurance book; details are limited to the steering group.",
    "Any question about {code} must be referred to the Company Secretary.",
)


def restrict(draft: Draft, rng: Random, codename: str) -> None:
    """Mark the draft STRICTLY CONFIDENTIAL and mention the deal codename inside it."""
    draft.lines.insert(0, f"STRICTLY CONFIDENTIAL - {codename}")
    draft.lines.insert(rng.randint(2, len(draft.lines)), rng.choice(_RESTRICTED_LINES).format(code=codename))
