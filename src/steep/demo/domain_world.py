"""Kestrel Mutual's world: its policies, their rules, and the products they govern.

The world is fixed (it does not depend on the seed): the seed only decides how documents and conversations are
sampled from it. So every document, chat answer and judge reference agrees on the same facts, and a config or a
test may name `POL-1042` and know what it is about.

Each `Fact` is one business rule told three ways: as the policy manual states it (`rule`), as an agent tells a
customer (`answer`, one or two sentences, at most 32 words) and as customers ask about it (`questions`, at most
17 words each, so a first simulator turn with a case id stays within 25 words).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fact:
    rule: str
    answer: str
    questions: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    pid: str
    title: str
    topic: str
    task: str
    owner: str
    purpose: str
    facts: tuple[Fact, ...]


@dataclass(frozen=True)
class Product:
    name: str
    kind: str
    pid: str
    attrs: tuple[tuple[str, str], ...]


def _f(rule: str, answer: str, *questions: str) -> Fact:
    return Fact(rule, answer, questions)


POLICIES: tuple[Policy, ...] = (
    Policy("POL-1042", "Card Disputes Policy", "card disputes", "Handling a card dispute", "Head of Card Operations",
           "This policy explains how disputed card transactions are raised, credited and resolved within card "
           "scheme deadlines.", (
        _f("Customers may dispute a card transaction within 60 days of the statement date on which it first appears.",
           "You can dispute a card transaction within 60 days of the statement date on which it first appears.",
           "How long do I have to dispute a charge on my card?", "Is there a deadline for disputing a card payment?",
           "Can I still dispute a card payment from two months ago?"),
        _f("A provisional credit is applied within 10 business days of receiving a complete dispute.",
           "Once we receive your complete dispute, we apply a provisional credit to your account within 10 "
           "business days.",
           "Do I get a temporary refund while my card dispute is open?",
           "When does the provisional credit arrive after I dispute a payment?",
           "Will I get my money back while you investigate a disputed charge?"),
        _f("Disputes are resolved within 45 days, or within 90 days for transactions made abroad.",
           "Most disputes are resolved within 45 days, and disputes about transactions made abroad can take up "
           "to 90 days.",
           "How long does a card dispute take to resolve?",
           "My disputed payment was made abroad. How long will it take?",
           "When will I hear the outcome of my card dispute?"),
        _f("For goods not received, customers must contact the merchant first unless the merchant has ceased trading.",
           "For goods that never arrived, please contact the merchant first. If the merchant has stopped "
           "trading, we can raise the dispute straight away.",
           "My order never arrived. Can you dispute it for me?",
           "Do I need to contact the shop before disputing a payment for missing goods?",
           "The shop that took my money has closed down. Can I still dispute the charge?"),
    )),
    Policy("POL-1107", "Lost, Stolen and Fraudulent Card Policy", "lost and stolen cards",
           "Blocking a lost or stolen card",
           "Head of Fraud Prevention", "This policy protects customers when a card is lost, stolen or used without "
           "permission.", (
        _f("A lost or stolen card must be blocked immediately, 24 hours a day, through the app or the emergency line.",
           "You can block a lost or stolen card immediately in the app or through our emergency line, 24 hours a day.",
           "I've lost my card. How do I block it?", "My wallet was stolen. What should I do about my card?",
           "Can I freeze my card at night if I lose it?"),
        _f("A replacement card is dispatched within 3 business days; an emergency card can be sent by courier within "
           "1 business day for a fee of £15.",
           "A replacement card arrives within 3 business days, or we can courier an emergency card within 1 business "
           "day for a fee of £15.",
           "How quickly will I get a replacement card?", "Can I get a new card faster than the usual post?",
           "Is there a charge for an emergency replacement card?"),
        _f("Customers are not liable for unauthorised transactions made after the card was reported, unless they acted "
           "fraudulently.",
           "You are not liable for unauthorised payments made after you report the card, unless you have acted "
           "fraudulently.",
           "Will I have to pay for purchases a thief made with my card?",
           "Am I responsible for fraudulent payments on my stolen card?",
           "Someone used my card after I reported it. Do I lose that money?"),
        _f("The maximum liability for unauthorised transactions before the card is reported is £35, unless the "
           "customer acted with gross negligence.",
           "Before you report the card, the most you can lose from unauthorised payments is £35, unless you were "
           "grossly negligent.",
           "How much could I lose from fraud before I report my card missing?",
           "Is there a limit on what I pay for fraud before I call you?",
           "What happens to payments made before I noticed my card was gone?"),
    )),
    Policy("POL-1120", "Account Opening and Identity Verification Policy", "opening an account",
           "Verifying a new customer's identity", "Head of Financial Crime Compliance",
           "This policy sets out how new customers are identified and verified before an account is opened.", (
        _f("New customers must provide one photo identity document and one proof of address dated within the last "
           "3 months.",
           "To open an account, please provide one photo ID and one proof of address dated within the last 3 months.",
           "What documents do I need to open an account?", "Which ID do you accept for a new account?",
           "How recent does my proof of address need to be?"),
        _f("Applicants must be at least 18 years old, except for the Kestrel Junior Saver, which is available from "
           "age 7 with a parent or guardian.",
           "You need to be 18 or over to open most accounts, but the Kestrel Junior Saver is available from age 7 "
           "with a parent or guardian.",
           "Can my teenager open an account?", "What is the minimum age to open an account with you?",
           "Can I open a savings account for my 8 year old?"),
        _f("Identity checks are completed within 2 business days, and accounts are opened only after verification "
           "succeeds.",
           "We complete identity checks within 2 business days, and your account opens as soon as verification "
           "succeeds.",
           "How long does it take to open an account?", "When will my new account be ready to use?",
           "Why can't I use my account straight after applying?"),
    )),
    Policy("POL-1164", "Overdraft Policy", "overdrafts", "Reviewing an overdraft request", "Head of Lending",
           "This policy explains how arranged overdrafts are offered, priced and reviewed.", (
        _f("Arranged overdrafts of up to £2,500 may be offered on the Kestrel Everyday Account, subject to a credit "
           "assessment.",
           "The Kestrel Everyday Account offers an arranged overdraft of up to £2,500, subject to a credit assessment.",
           "How big an overdraft can I get?", "Can I have an overdraft on my Everyday Account?",
           "What is the maximum arranged overdraft you offer?"),
        _f("Arranged overdrafts are charged at 29.9% EAR variable, and the first £100 is interest free.",
           "Arranged overdrafts cost 29.9% EAR variable, and the first £100 you borrow is interest free.",
           "What interest do you charge on an overdraft?", "Is any part of my overdraft interest free?",
           "How much does it cost to use my overdraft?"),
        _f("Payments that would take an account past its arranged limit are declined, and no unarranged overdraft "
           "fees are charged.",
           "If a payment would take you past your arranged limit, we decline it, and we never charge unarranged "
           "overdraft fees.",
           "What happens if I go over my overdraft limit?", "Do you charge a fee if I exceed my overdraft?",
           "Will a payment bounce if I don't have enough money?"),
    )),
    Policy("POL-1207", "Savings Products Policy", "savings accounts", "Opening and servicing a savings account",
           "Head of Savings", "This policy governs the rates, limits and withdrawal terms of Kestrel Mutual savings "
           "products.", (
        _f("The Kestrel Flex Saver pays 3.10% AER variable on balances up to £250,000 and allows unlimited "
           "withdrawals.",
           "The Kestrel Flex Saver pays 3.10% AER variable on balances up to £250,000, and you can make unlimited "
           "withdrawals.",
           "What interest rate does the Flex Saver pay?", "Can I take money out of my Flex Saver whenever I like?",
           "What's the maximum I can keep in a Flex Saver?"),
        _f("The Kestrel Fixed Term Bond pays 4.25% AER fixed for 1 year or 4.05% AER fixed for 2 years, with a "
           "minimum deposit of £1,000.",
           "The Kestrel Fixed Term Bond pays 4.25% AER fixed for 1 year or 4.05% AER fixed for 2 years, with a "
           "minimum deposit of £1,000.",
           "What are the rates on your fixed term bonds?", "How much do I need to open a Fixed Term Bond?",
           "Is the 2 year bond rate better than the 1 year rate?"),
        _f("Withdrawals from a Fixed Term Bond before maturity are not permitted, except after the death of the "
           "account holder.",
           "You cannot withdraw from a Fixed Term Bond before it matures, except when the account holder has died.",
           "Can I take money out of my bond early?", "What if I need my bond money before the term ends?",
           "Is early access allowed on the Fixed Term Bond?"),
        _f("Interest on savings accounts is calculated daily and paid monthly on the first business day of the month.",
           "Savings interest is calculated daily and paid monthly, on the first business day of each month.",
           "When is interest paid on my savings?", "How often do you pay interest on the Flex Saver?",
           "Is savings interest calculated daily or monthly?"),
    )),
    Policy("POL-1233", "Payments and Transfers Policy", "payments and transfers",
           "Processing an international transfer",
           "Head of Payments", "This policy covers limits, cut-off times and fees for domestic and international "
           "payments.", (
        _f("Domestic transfers of up to £25,000 per day can be made in the app and arrive within 2 hours.",
           "You can send up to £25,000 a day to UK accounts in the app, and domestic transfers usually arrive within "
           "2 hours.",
           "What is my daily transfer limit?", "How long does a UK bank transfer take?",
           "Can I send £20,000 to another UK bank today?"),
        _f("International transfers cost a flat fee of £5 and arrive within 1 to 4 business days.",
           "International transfers cost a flat £5 fee and arrive within 1 to 4 business days.",
           "How much does it cost to send money abroad?", "How long does an international transfer take?",
           "Is there a fee for paying someone in France?"),
        _f("International transfers submitted after 3pm on a business day are processed on the next business day.",
           "International transfers sent after 3pm on a business day are processed on the next business day.",
           "What is the cut-off time for international payments?",
           "If I send money abroad this evening, when will it go?", "Why hasn't my overseas payment left yet?"),
        _f("A first payment above £1,000 to a new payee requires confirmation in the app before it is released.",
           "For a first payment above £1,000 to a new payee, we ask you to confirm it in the app before we release it.",
           "Why do I need to confirm a payment to a new payee?", "Is there an extra check when I pay someone new?",
           "My large payment to a new contact is on hold. Why?"),
    )),
    Policy("POL-1288", "Complaints Handling Policy", "complaints", "Logging and resolving a complaint",
           "Head of Customer Experience", "This policy makes sure every complaint is logged, acknowledged and "
           "resolved fairly and on time.", (
        _f("Every complaint is acknowledged within 3 business days and given a case number.",
           "We acknowledge every complaint within 3 business days and give you a case number to track it.",
           "How do I know you've received my complaint?", "Will I get a reference for my complaint?",
           "How quickly do you acknowledge complaints?"),
        _f("A final response is issued within 8 weeks of receiving the complaint.",
           "We send a final response within 8 weeks of receiving your complaint.",
           "How long will it take to resolve my complaint?", "When will I get a final answer on my complaint?",
           "What is the deadline for you to respond to a complaint?"),
        _f("Customers who are unhappy with the final response may refer the complaint to the Financial Ombudsman "
           "Service within 6 months.",
           "If you are unhappy with our final response, you can refer your complaint to the Financial Ombudsman "
           "Service within 6 months.",
           "What can I do if I disagree with your decision on my complaint?",
           "Can I take my complaint to the ombudsman?",
           "How long do I have to go to the ombudsman?"),
    )),
    Policy("POL-1315", "Home Insurance Claims Policy", "home insurance claims", "Registering a home insurance claim",
           "Head of Property Claims", "This policy sets out how claims under Kestrel Home Cover are registered, "
           "assessed and settled.", (
        _f("Claims must be reported within 30 days of the incident.",
           "Please report a home insurance claim within 30 days of the incident.",
           "How soon do I need to report a home insurance claim?",
           "Is there a time limit for making a claim on my home cover?",
           "The leak happened three weeks ago. Can I still claim?"),
        _f("The standard excess on Kestrel Home Cover is £250 per claim, or £1,000 for subsidence.",
           "The standard excess on Kestrel Home Cover is £250 per claim, rising to £1,000 for subsidence claims.",
           "What is the excess on my home insurance?", "How much do I pay towards a home insurance claim?",
           "Is the excess different for subsidence?"),
        _f("Emergency repairs up to £500 may be carried out without prior approval to prevent further damage.",
           "You can arrange emergency repairs of up to £500 without asking us first, if they stop further damage.",
           "Can I fix a burst pipe before my claim is approved?", "Do I need permission for emergency repairs?",
           "How much can I spend on urgent repairs before you approve the claim?"),
        _f("Contents cover is limited to £75,000, with a single-item limit of £2,000 unless the item is listed on the "
           "schedule.",
           "Contents cover is limited to £75,000, and single items are covered up to £2,000 unless they are listed "
           "on your schedule.",
           "What is the maximum payout for my contents?", "Is my £3,000 watch covered by my home insurance?",
           "Do I need to list valuable items on my policy?"),
    )),
    Policy("POL-1342", "Motor Insurance Claims Policy", "motor insurance claims", "Handling a motor insurance claim",
           "Head of Motor Claims", "This policy describes how Kestrel Motor Cover claims are handled after an "
           "accident, theft or damage.", (
        _f("Accidents must be reported within 48 hours, even if the customer does not intend to claim.",
           "Please report any accident within 48 hours, even if you do not plan to make a claim.",
           "Do I have to tell you about a minor accident?", "How quickly should I report a car accident?",
           "I scraped another car yesterday. Do I need to report it?"),
        _f("The compulsory excess on Kestrel Motor Cover is £350, and an additional £250 applies to drivers under 25.",
           "The compulsory excess on Kestrel Motor Cover is £350, plus an extra £250 for drivers under 25.",
           "What is the excess on my car insurance?", "Does my son pay a higher excess because he's 21?",
           "How much of a car claim do I pay myself?"),
        _f("A courtesy car is provided while a covered vehicle is repaired at an approved garage.",
           "You get a courtesy car while your car is repaired at one of our approved garages.",
           "Will I get a courtesy car while mine is repaired?", "Can I have a replacement car during repairs?",
           "Do I get a courtesy car if I use my own garage?"),
        _f("Windscreen repairs are covered with a £75 excess and do not affect the no-claims discount.",
           "Windscreen repairs are covered with a £75 excess and do not affect your no-claims discount.",
           "Is a cracked windscreen covered?", "Will a windscreen claim affect my no-claims discount?",
           "What do I pay for a windscreen repair?"),
    )),
    Policy("POL-1376", "Travel Insurance Policy", "travel insurance", "Assessing a travel insurance claim",
           "Head of Travel Products", "This policy defines the cover, limits and claim rules of Kestrel Travel "
           "Cover.", (
        _f("Emergency medical expenses abroad are covered up to £10 million per person.",
           "Kestrel Travel Cover pays emergency medical expenses abroad of up to £10 million per person.",
           "How much medical cover does my travel insurance include?",
           "Am I covered if I need hospital treatment abroad?", "What is the medical limit on Kestrel Travel Cover?"),
        _f("Cancellation cover is limited to £5,000 per person for trips cancelled for a covered reason.",
           "If you cancel a trip for a covered reason, we pay up to £5,000 per person.",
           "How much can I claim if I cancel my holiday?", "Does my travel insurance cover cancellation?",
           "What's the cancellation limit on my policy?"),
        _f("Annual multi-trip cover is limited to 45 days per trip, and single-trip cover lasts up to 31 days.",
           "Annual multi-trip cover protects trips of up to 45 days each, and single-trip cover lasts up to 31 days.",
           "How long can each trip be on the annual policy?",
           "Is a 60 day trip covered by my annual travel insurance?", "What is the maximum length of a single trip?"),
        _f("Pre-existing medical conditions must be declared before travel, or related claims may be declined.",
           "Please declare any pre-existing medical conditions before you travel, otherwise related claims may be "
           "declined.",
           "Do I need to tell you about my asthma before I travel?", "Are pre-existing conditions covered on holiday?",
           "What happens if I don't declare a medical condition?"),
    )),
    Policy("POL-1409", "Mortgage Lending Policy", "mortgages", "Processing a mortgage overpayment", "Head of Mortgages",
           "This policy covers mortgage lending limits, overpayments and early repayment charges.", (
        _f("The Kestrel First Home Mortgage lends up to 95% of the property value to first-time buyers.",
           "The Kestrel First Home Mortgage lends first-time buyers up to 95% of the property value.",
           "How much deposit do I need for my first home?", "What loan to value do you offer first-time buyers?",
           "Can I get a mortgage with a 5% deposit?"),
        _f("Customers may overpay up to 10% of the outstanding balance each year without an early repayment charge.",
           "You can overpay up to 10% of your outstanding balance each year without an early repayment charge.",
           "Can I make overpayments on my mortgage?", "How much can I overpay without a penalty?",
           "Is there a charge for paying extra off my mortgage?"),
        _f("Early repayment charges are 3% of the amount repaid in years 1 to 3 and 2% in years 4 and 5 of a "
           "fixed rate.",
           "Early repayment charges are 3% of the amount repaid in years 1 to 3 of your fixed rate, and 2% in years 4 "
           "and 5.",
           "What does it cost to pay off my fixed rate mortgage early?", "How much is the early repayment charge?",
           "I'm in year 4 of my fix. What's the charge to leave?"),
        _f("The 5-year fixed rate on the Kestrel First Home Mortgage is 4.89%, with no arrangement fee.",
           "The 5-year fixed rate on the Kestrel First Home Mortgage is 4.89%, with no arrangement fee.",
           "What is your current 5 year fixed mortgage rate?",
           "Is there an arrangement fee on the First Home Mortgage?",
           "What rate would I pay on a First Home Mortgage?"),
    )),
    Policy("POL-1451", "Data Protection and Customer Records Policy", "personal data",
           "Responding to a subject access request", "Data Protection Officer",
           "This policy explains how customer data is kept, shared and released on request.", (
        _f("Subject access requests are answered within one month, free of charge.",
           "We answer subject access requests within one month, free of charge.",
           "How do I get a copy of the data you hold about me?", "How long does a subject access request take?",
           "Do you charge for a copy of my personal data?"),
        _f("Account records are retained for 6 years after an account is closed and then securely deleted.",
           "We keep account records for 6 years after an account closes, then delete them securely.",
           "How long do you keep my records after I close my account?", "When will you delete my data?",
           "Do you keep my statements after I leave?"),
        _f("Staff must never ask for a full password or PIN, and customers are asked only for selected characters.",
           "We will never ask for your full password or PIN. We only ever ask for selected characters.",
           "Someone called asking for my PIN. Was that you?", "Will you ever ask me for my full password?",
           "Is it safe to give my PIN over the phone?"),
    )),
    Policy("POL-1488", "Bereavement and Power of Attorney Policy", "bereavement", "Supporting a bereaved customer",
           "Head of Specialist Support", "This policy helps customers who are dealing with a death or acting for "
           "someone else.", (
        _f("Sole accounts of a deceased customer are frozen once the death is notified, and a death certificate is "
           "required.",
           "Once we are told about a death, we freeze the sole accounts of the person who died, and we need a copy of "
           "the death certificate.",
           "My father passed away. What happens to his account?", "What do you need when an account holder has died?",
           "Will my late mother's account be frozen?"),
        _f("Balances up to £50,000 may be released to the executor without a grant of probate.",
           "We can release balances of up to £50,000 to the executor without a grant of probate.",
           "Do I need probate to close my dad's account?", "How much can you release without probate?",
           "Can the executor get the money without a grant of probate?"),
        _f("A registered lasting power of attorney is verified within 5 business days before the attorney can operate "
           "the account.",
           "We verify a registered lasting power of attorney within 5 business days, and then the attorney can "
           "operate the account.",
           "How do I register a power of attorney with you?", "How long does it take to add a power of attorney?",
           "Can I manage my mum's account with a power of attorney?"),
    )),
    Policy("POL-1520", "Fees and Charges Policy", "fees and charges", "Refunding a fee", "Head of Pricing",
           "This policy lists the fees on everyday banking and sets out when fees may be refunded.", (
        _f("The Kestrel Everyday Account has no monthly fee, and UK card payments and cash withdrawals are free of "
           "charge.",
           "There is no monthly fee on the Kestrel Everyday Account, and UK card payments and cash withdrawals "
           "are free.",
           "Is there a monthly fee on the Everyday Account?", "Do I pay to use my card in the UK?",
           "Are cash withdrawals free in the UK?"),
        _f("Card payments and cash withdrawals abroad carry a non-sterling transaction fee of 2.75%.",
           "Card payments and cash withdrawals abroad carry a 2.75% non-sterling transaction fee.",
           "Do you charge fees for using my card abroad?", "What's the fee for withdrawing cash in Spain?",
           "How much does it cost to pay in euros with my card?"),
        _f("A fee charged in error is refunded within 5 business days of the customer reporting it.",
           "If we charged a fee in error, we refund it within 5 business days of you telling us.",
           "I think I was charged a fee by mistake. What now?", "How long does a fee refund take?",
           "Can I get a wrongly charged fee back?"),
        _f("A paper statement costs £2 per copy, and statements in the app are free.",
           "Statements in the app are free, and paper statements cost £2 per copy.",
           "Do you charge for paper statements?", "How much is a copy of my statement?",
           "Can I get my statements for free?"),
    )),
    Policy("POL-1563", "Credit Card Policy", "credit cards", "Reviewing a credit limit increase", "Head of Cards",
           "This policy governs pricing, limits and repayments on the Kestrel Classic Card.", (
        _f("The Kestrel Classic Card has a representative rate of 22.9% APR variable.",
           "The Kestrel Classic Card has a representative rate of 22.9% APR variable.",
           "What is the APR on the Classic Card?", "How much interest does your credit card charge?",
           "What rate would I pay on the Kestrel Classic Card?"),
        _f("The minimum monthly payment is 3% of the balance or £25, whichever is higher, and a late payment fee of "
           "£12 applies.",
           "Your minimum monthly payment is 3% of the balance or £25, whichever is higher, and a late payment "
           "costs £12.",
           "What is the minimum payment on my credit card?", "What happens if I pay my card late?",
           "Is there a fee for a late credit card payment?"),
        _f("Credit limits range from £500 to £12,000, and a limit increase may be requested after 6 months.",
           "Credit limits range from £500 to £12,000, and you can ask for a limit increase after 6 months.",
           "Can I increase my credit card limit?", "What is the highest credit limit you offer?",
           "When can I ask for a higher credit limit?"),
        _f("Purchases have an interest-free period of up to 56 days when the balance is paid in full each month.",
           "Purchases are interest free for up to 56 days if you pay your balance in full each month.",
           "Is there an interest-free period on purchases?", "How do I avoid paying interest on my credit card?",
           "How many interest-free days does the Classic Card give?"),
    )),
    Policy("POL-1607", "Life Protection Policy", "life insurance", "Setting up a life protection plan",
           "Head of Protection", "This policy sets the eligibility, cover limits and cancellation rights of Kestrel "
           "Life Protect.", (
        _f("Kestrel Life Protect is available to applicants aged 18 to 70, with cover from £50,000 to £1,000,000.",
           "Kestrel Life Protect is open to applicants aged 18 to 70, with cover from £50,000 to £1,000,000.",
           "Am I too old to take out life insurance at 68?", "How much life cover can I get?",
           "Who can apply for Kestrel Life Protect?"),
        _f("Customers may cancel within 30 days of the start date for a full refund of premiums.",
           "You can cancel within 30 days of the start date and get a full refund of your premiums.",
           "Can I cancel my life policy if I change my mind?", "Is there a cooling-off period on life insurance?",
           "Will I get my premiums back if I cancel in the first month?"),
        _f("Premiums are fixed for the term of the plan unless the customer changes the amount of cover.",
           "Your premiums stay fixed for the whole term of the plan, unless you change your amount of cover.",
           "Will my life insurance premiums go up?", "Are my life insurance premiums fixed?",
           "Do life cover premiums change as I get older?"),
    )),
    Policy("POL-1644", "Financial Hardship Policy", "financial difficulty", "Agreeing a payment holiday",
           "Head of Collections and Recoveries", "This policy makes sure customers in financial difficulty are "
           "treated fairly and offered realistic support.", (
        _f("Customers in financial difficulty may request a payment holiday of up to 3 months on loans and mortgages.",
           "If you are in financial difficulty, you can ask for a payment holiday of up to 3 months on loans and "
           "mortgages.",
           "Can I pause my mortgage payments for a few months?", "I've lost my job. Can I get a payment holiday?",
           "How long can a payment holiday last?"),
        _f("Interest and fees are frozen for 30 days while a hardship request is assessed.",
           "While we assess your hardship request, we freeze interest and fees for 30 days.",
           "Will interest keep building while you review my hardship request?",
           "Do you stop charges while I sort out my finances?",
           "What happens to fees while my hardship case is reviewed?"),
        _f("Customers are referred to a free, independent debt advice service when they ask for help.",
           "We can refer you to a free, independent debt advice service whenever you ask for help.",
           "Can you recommend free debt advice?", "Where can I get independent help with my debts?",
           "Do you offer debt counselling?"),
    )),
    Policy("POL-1690", "Account Closure and Switching Policy", "closing or switching an account",
           "Closing a customer account", "Head of Customer Operations",
           "This policy explains how customers can close or switch accounts and what happens to their money.", (
        _f("Accounts switched through the Current Account Switch Service move within 7 business days, and payments "
           "are redirected for 3 years.",
           "Switching through the Current Account Switch Service takes 7 business days, and payments are redirected "
           "for 3 years.",
           "How long does it take to switch my current account to you?",
           "Will my direct debits move if I switch banks?",
           "What happens to payments into my old account after switching?"),
        _f("On closure, the remaining balance is paid to a nominated account within 2 business days.",
           "When you close an account, we pay the remaining balance to your nominated account within 2 business days.",
           "How do I get my money when I close my account?",
           "How quickly will my balance be paid out after closing?",
           "What happens to the money left in my closed account?"),
        _f("Kestrel Mutual may close an account with 2 months' notice, or immediately in cases of fraud.",
           "We can close an account with 2 months' notice, or immediately if there is fraud.",
           "Can you close my account without asking me?", "How much notice do you give before closing an account?",
           "Why would you close my account?"),
    )),
)

POLICY_BY_ID = {p.pid: p for p in POLICIES}
# Every (policy, fact) pair, the unit that chat rows and support logs sample from.
ALL_FACTS: tuple[tuple[Policy, Fact], ...] = tuple((p, f) for p in POLICIES for f in p.facts)

