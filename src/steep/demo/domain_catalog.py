"""Kestrel Mutual's product catalogue and the people who appear in its documents.

Fixed, like the policies in `domain_world`: product specs, support logs and earnings calls all quote these
values, and they agree with the policy rules that govern each product.
"""

from __future__ import annotations

from steep.demo.domain_world import Product

PRODUCTS: tuple[Product, ...] = (
    Product("Kestrel Flex Saver", "easy-access savings account", "POL-1207", (
        ("Interest rate", "3.10% AER variable"), ("Minimum deposit", "£1"), ("Maximum balance", "£250,000"),
        ("Withdrawals", "unlimited and free of charge"), ("Interest paid", "monthly"),
        ("Access", "app, online and branch"))),
    Product("Kestrel Fixed Term Bond", "fixed-rate savings bond", "POL-1207", (
        ("Terms", "1 year or 2 years"), ("Rates", "4.25% AER fixed for 1 year, 4.05% AER fixed for 2 years"),
        ("Minimum deposit", "£1,000"), ("Maximum deposit", "£500,000"),
        ("Early withdrawal", "not permitted, except on the death of the account holder"),
        ("Interest paid", "monthly"))),
    Product("Kestrel Junior Saver", "children's savings account", "POL-1120", (
        ("Eligibility", "children aged 7 to 17, opened with a parent or guardian"),
        ("Interest rate", "3.50% AER variable"), ("Maximum monthly deposit", "£200"),
        ("Withdrawals", "with the consent of a parent or guardian"))),
    Product("Kestrel Everyday Account", "current account", "POL-1520", (
        ("Monthly fee", "none"), ("Arranged overdraft", "up to £2,500 at 29.9% EAR variable"),
        ("Interest-free overdraft buffer", "£100"), ("Non-sterling transaction fee", "2.75%"),
        ("Paper statements", "£2 per copy"), ("Daily transfer limit", "£25,000"))),
    Product("Kestrel Classic Card", "credit card", "POL-1563", (
        ("Representative rate", "22.9% APR variable"), ("Credit limit", "£500 to £12,000"),
        ("Minimum payment", "3% of the balance or £25, whichever is higher"), ("Late payment fee", "£12"),
        ("Interest-free period", "up to 56 days on purchases"))),
    Product("Kestrel Home Cover", "home insurance", "POL-1315", (
        ("Buildings cover", "up to £1,000,000"), ("Contents cover", "up to £75,000"),
        ("Single-item limit", "£2,000 unless listed"), ("Standard excess", "£250, or £1,000 for subsidence"),
        ("Emergency repairs", "up to £500 without prior approval"), ("Claims window", "30 days"))),
    Product("Kestrel Motor Cover", "comprehensive motor insurance", "POL-1342", (
        ("Compulsory excess", "£350"), ("Young driver excess", "an extra £250 under 25"),
        ("Windscreen excess", "£75"), ("Courtesy car", "at approved garages"),
        ("Accident reporting", "within 48 hours"))),
    Product("Kestrel Travel Cover", "travel insurance", "POL-1376", (
        ("Emergency medical expenses", "up to £10 million per person"),
        ("Cancellation", "up to £5,000 per person"), ("Annual multi-trip", "up to 45 days per trip"),
        ("Single trip", "up to 31 days"), ("Pre-existing conditions", "must be declared"))),
    Product("Kestrel First Home Mortgage", "residential mortgage", "POL-1409", (
        ("Maximum loan to value", "95%"), ("5-year fixed rate", "4.89%"), ("Arrangement fee", "none"),
        ("Overpayments", "up to 10% a year without charge"),
        ("Early repayment charge", "3% in years 1 to 3, 2% in years 4 and 5"))),
    Product("Kestrel Life Protect", "life insurance", "POL-1607", (
        ("Eligible ages", "18 to 70"), ("Cover", "£50,000 to £1,000,000"),
        ("Cooling-off period", "30 days"), ("Premiums", "fixed for the term"))),
)

# Post-cutoff world: only documents labeled post_cutoff may mention any of this.
HORIZON_CARD = Product("Kestrel Horizon Card", "rewards credit card", "POL-1563", (
    ("Launch date", "16 September 2024"), ("Introductory offer", "0% on purchases for 12 months"),
    ("Horizon Rewards", "1% cashback on all purchases"), ("Representative rate", "24.9% APR variable"),
    ("Annual fee", "none"),
))

EXECUTIVES = (("Helen Marsh", "Chief Executive"), ("David Okafor", "Chief Financial Officer"))
ANALYSTS = (
    ("Priya Raman", "Barrow & Finch"), ("Tom Greaves", "Northgate Securities"), ("Sofia Berg", "Halden Capital"),
    ("Marcus Lee", "Ashby Research"), ("Chloé Martin", "Rivière Partners"), ("James Whitlock", "Calder Brothers"),
    ("Anika Sharma", "Fenwick Equity"), ("Oliver Brandt", "Saxon Bank Research"),
)
FIRST_NAMES = (
    "Maria", "James", "Aisha", "Tom", "Li", "Sofia", "Daniel", "Grace", "Mohammed", "Emma", "Lucas", "Hannah",
    "Oliver", "Priya", "Jack", "Chloe", "Noah", "Fatima", "Ethan", "Zoe", "José", "Zoë", "Renée", "Björn",
    "Siobhán", "Kofi", "Yuki", "Mateo",
)
LAST_NAMES = (
    "Lopez", "Smith", "Khan", "Brown", "Chen", "Rossi", "Walsh", "Okafor", "Patel", "Murphy", "Novak", "Evans",
    "Garcia", "Taylor", "Kowalski", "Nguyen", "Hughes", "Müller", "Núñez", "Byrne", "Dubois", "Fischer",
    "Ahmed", "Clarke",
)
