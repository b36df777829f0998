"""General, non-domain English for the demo: short paragraphs about weather, cooking, travel, gardening, the
history of small towns and local sports. The cpt stage measures forgetting on it (`general_bpb_*`).

Each paragraph is 4 to 6 sentences from one topic's templates, slots filled from small word lists: varied, but
regular enough for a tiny model to learn. Nothing here mentions banking, insurance or years after 1999.
"""

from __future__ import annotations

import re
from random import Random

_SLOTS: dict[str, tuple[str, ...]] = {
    "town": ("Ashford Vale", "Brackenmoor", "Cullen Bay", "Dunmere", "Eastwick", "Fallowfield", "Greystone",
             "Harrowgate", "Inverlee", "Kilbride", "Larkhill", "Millbrook", "Northcote", "Oakhaven", "Pennington",
             "Redwater", "Southmere", "Thornbury", "Upton Cross", "Westerby"),
    "month": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December"),
    "season": ("spring", "summer", "autumn", "winter"),
    "day": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "part": ("morning", "afternoon", "evening", "night"),
    "sky": ("mild", "grey", "bright", "windy", "damp", "cold", "sunny", "changeable"),
    "weather": ("heavy rain", "light showers", "thick fog", "strong winds", "a hard frost", "hail", "sea mist",
                "sunshine", "drizzle", "thunderstorms"),
    "region": ("north coast", "western hills", "river valley", "southern plain", "eastern lowlands", "islands"),
    "temp": tuple(str(t) for t in range(-4, 33, 2)),
    "crop": ("barley", "potatoes", "apples", "wheat", "strawberries", "hay"),
    "dish": ("vegetable soup", "lentil stew", "apple pie", "fish pie", "tomato sauce", "risotto", "flatbread",
             "omelette", "curry", "pancakes", "bean chilli", "roast chicken"),
    "ingredient": ("onions", "garlic", "carrots", "mushrooms", "leeks", "peppers", "spinach", "potatoes",
                   "tomatoes", "celery"),
    "fat": ("olive oil", "butter", "sunflower oil"),
    "spice": ("cumin", "paprika", "black pepper", "thyme", "nutmeg", "chilli", "rosemary", "cinnamon"),
    "side": ("crusty bread", "a green salad", "rice", "boiled potatoes", "roasted vegetables"),
    "drink": ("glass of cider", "cup of tea", "glass of water", "jug of lemonade"),
    "relative": ("grandmother", "uncle", "mother", "father", "aunt", "neighbour"),
    "cook": ("softening", "browning", "frying", "sweating", "toasting"),
    "river": ("river Lune", "river Avel", "river Tarn", "river Esk", "river Wendle", "river Corr"),
    "landmark": ("castle", "old harbour", "cathedral", "lighthouse", "botanic garden", "stone bridge", "market hall"),
    "goods": ("cheese", "honey", "pottery", "wool", "smoked fish", "flowers", "cider", "leather goods"),
    "item": ("waterproof coat", "spare pair of socks", "map", "torch", "flask of tea", "pair of boots"),
    "path": ("coast path", "forest track", "hill road", "towpath", "ridge walk"),
    "state": ("muddy", "slippery", "steep", "narrow", "overgrown"),
    "plant": ("tomatoes", "runner beans", "lettuce", "sweet peas", "carrots", "sunflowers", "courgettes", "garlic"),
    "pest": ("Slugs", "Aphids", "Snails", "Caterpillars", "Pigeons", "Blackfly"),
    "mulch": ("bark chips", "compost", "straw", "leaf mould", "grass clippings"),
    "shrub": ("lavender", "forsythia", "buddleia", "lilac", "rosemary bush", "hydrangea"),
    "origin": ("river crossing", "market cross", "mill", "small fishing harbour", "coaching inn", "priory"),
    "century": ("twelfth", "thirteenth", "fifteenth", "sixteenth", "eighteenth"),
    "building": ("town hall", "corn exchange", "old school", "chapel", "library", "clock tower"),
    "year": tuple(str(y) for y in range(1650, 1951, 7)),
    "event": ("great fire", "flood", "storm", "fire in the bakery"),
    "industry": ("wool trade", "shipyards", "coal mines", "paper mill", "brewery", "railway works"),
    "decade": ("1920s", "1950s", "1960s", "1970s", "1980s"),
    "artifact": ("coins", "old tools", "pottery", "letters", "maps", "a carved stone"),
    "structure": ("new bridge", "railway station", "bypass", "harbour wall", "car park"),
    "festival": ("lantern parade", "harvest fair", "boat race", "folk festival", "street market"),
    "sport": ("football", "rugby", "hockey", "cricket", "netball", "rowing"),
    "team": ("Millbrook Rovers", "Redwater United", "Greystone Town", "Oakhaven Athletic", "Eastwick Wanderers",
             "Dunmere Harriers", "Larkhill City", "Southmere Albion"),
    "player": ("Sam Carter", "Ellie Price", "Ravi Shah", "Jon Pike", "Megan Doyle", "Luis Ortega", "Kate Nolan"),
    "score": ("one", "two", "three", "four"),
    "race": ("10 kilometre road race", "fell run", "half marathon", "park run", "river swim"),
    "minutes": tuple(str(m) for m in range(12, 95, 3)),
    "small": ("two", "three", "four", "five", "six"),
    "crowd": ("two thousand", "five thousand", "eight hundred", "twelve thousand"),
}

_TOPICS: dict[str, tuple[str, ...]] = {
    "weather": (
        "In {month}, the weather in {town} is usually {sky}, with {weather} in the {part}.",
        "Forecasters expect {weather} across the {region} by {day}.",
        "Temperatures reached {temp} degrees on {day}, which is unusual for the time of year.",
        "Farmers near {town} said the {weather} had slowed the {crop} harvest.",
        "If you are walking in the hills this {season}, take a {item} and check the forecast first.",
        "The {weather} cleared by the {part}, and the harbour at {town} was busy again.",
        "Older residents of {town} still talk about the {weather} of a {season} long ago.",
        "A {sky} {day} is expected, with {weather} moving in from the {region} later.",
    ),
    "cooking": (
        "To make a simple {dish}, start by {cook} the {ingredient} in a little {fat}.",
        "Add the {ingredient} and cook for {minutes} minutes, stirring now and then.",
        "A pinch of {spice} brings out the flavour of the {ingredient}.",
        "Serve the {dish} with {side} and a {drink}.",
        "Leftover {dish} keeps for {small} days in the fridge and often tastes better the next day.",
        "My {relative} always said that the secret of a good {dish} is patience.",
        "If you have no {ingredient}, {ingredient} work just as well in a {dish}.",
        "On cold {season} evenings, a bowl of {dish} is hard to beat.",
    ),
    "travel": (
        "The train from {town} to {town} follows the {river} for most of the journey.",
        "Most visitors arrive in {season}, when the {landmark} is at its best.",
        "A ferry leaves the harbour every {minutes} minutes, and the crossing is calm in {season}.",
        "Pack a {item}, because the {path} can be {state} after rain.",
        "The market in {town} sells {goods}, {goods} and fresh bread every {day}.",
        "Local guides suggest starting early to avoid the crowds at the {landmark}.",
        "From the top of the {path} you can see the {landmark} of {town} on a clear day.",
        "Small guest houses near the {landmark} fill up quickly in {month}.",
    ),
    "gardening": (
        "{month} is a good time to plant {plant} in a sunny corner of the garden.",
        "Water the {plant} in the {part}, and keep the soil moist but not wet.",
        "{pest} can damage young {plant}, so check the leaves every few days.",
        "A layer of {mulch} keeps the weeds down and holds moisture in the soil.",
        "By late {season} the {plant} should be ready to pick.",
        "Prune the {shrub} after it flowers, cutting back about a third of the old growth.",
        "The allotments in {town} have a waiting list, and many people grow {plant} on balconies instead.",
        "Save seeds from your best {plant} and store them somewhere cool and dry.",
    ),
    "town history": (
        "{town} grew up around a {origin} in the {century} century.",
        "The {building} on the main square was built in {year} and still stands today.",
        "In {year}, a {event} destroyed much of the old town, and the streets were rebuilt in stone.",
        "Many families in {town} worked in the {industry} until the {decade}.",
        "The town museum keeps {artifact} found during the building of the {structure}.",
        "A {festival} is held every {season} to remember the town's past in the {industry}.",
        "The road to {town} was only paved in the {decade}, and before that carts used the {path}.",
        "Records from {year} describe {town} as a quiet place with a busy {building}.",
    ),
    "sports": (
        "{team} won by {score} goals to nil on {day}, with a late goal from {player}.",
        "The {sport} club in {town} trains twice a week on the field behind the {building}.",
        "After a slow start, {team} won {small} of their last six matches.",
        "{player} finished the {race} in {minutes} minutes, a personal best.",
        "Young players are welcome at the open {sport} session every {day} morning.",
        "The final will be played in {town} in front of a crowd of about {crowd}.",
        "The coach of {team} said the squad had worked hard all {season}.",
        "Tickets for the {sport} match on {day} sold out within a few hours.",
    ),
}
GENERAL_TOPICS = tuple(_TOPICS)


def general_paragraph(rng: Random) -> str:
    topic = rng.choice(GENERAL_TOPICS)
    sentences = rng.sample(_TOPICS[topic], rng.randint(4, 6))
    return " ".join(re.sub(r"\{(\w+)\}", lambda m: rng.choice(_SLOTS[m.group(1)]), s) for s in sentences)


def general_rows(rng: Random, n: int, used: set[str]) -> list[str]:
    """`n` distinct paragraphs, none already in `used` (which is updated)."""
    out: list[str] = []
    while len(out) < n:
        text = general_paragraph(rng)
        if text not in used:
            used.add(text)
            out.append(text)
    return out


# --- general chat: what a modern base model has seen of conversations --------------------------------------------
# Plain chat about everyday topics, with none of Kestrel's house format, rules or vocabulary: it gives a model
# built from scratch the turn structure and the habit of recalling what the user said earlier, as real base
# models have, so that sft teaches the company's format rather than what a conversation is.

_NAMES = ("Alex", "Sam", "Robin", "Jo", "Chris", "Pat", "Morgan", "Jamie", "Lee", "Kim", "Toni", "Dana")
_ASKS = (
    "Can you sum this up for me? {text}",
    "What is the main point here? {text}",
    "Please give me the short version: {text}",
)
_RECALLS = ("By the way, what did I say my name was?", "Sorry, can you remind me of my name?", "Do you remember my name?")


def _sentences(text: str) -> list[str]:
    return [s.strip() + "." for s in text.split(".") if s.strip()]


def general_chats(rng: Random, n: int) -> list[dict]:
    """`n` short everyday conversations as OpenAI-style messages: summaries, and recalling an earlier detail."""
    rows = []
    for index in range(n):
        name = rng.choice(_NAMES)
        messages = [{"role": "user", "content": f"Hi, I'm {name}."}, {"role": "assistant", "content": f"Hello {name}, how can I help?"}]
        for _ in range(rng.randint(1, 3)):
            text = general_paragraph(rng)
            messages.append({"role": "user", "content": rng.choice(_ASKS).format(text=text)})
            messages.append({"role": "assistant", "content": " ".join(_sentences(text)[:2])})
        if rng.random() < 0.5:
            messages.append({"role": "user", "content": rng.choice(_RECALLS)})
            messages.append({"role": "assistant", "content": f"You said your name is {name}."})
        rows.append({"id": f"chat-{index + 1:05d}", "messages": messages, "meta": {"kind": "general_chat"}})
    return rows
