"""A seeded English-like training corpus for the fixture tokenizers (no downloads).

Sentences are composed from templates and word lists, with numbers, punctuation, contractions,
line breaks, and a sprinkle of non-ASCII words so that the byte-level BPE learns merges for them.
"""

import numpy as np

SUBJECTS = [
    "the engineer", "a small team", "my neighbour", "the old librarian", "our teacher",
    "the young farmer", "a tired traveller", "the city council", "every student", "the pilot",
    "her brother", "the committee", "a curious child", "the gardener", "the river guide",
    "the new manager", "his grandmother", "the baker", "a quiet musician", "the doctor",
    "the research group", "a local writer", "the ship's captain", "the painter", "the mayor",
]
VERBS = [
    "carried", "noticed", "repaired", "described", "painted", "measured", "counted", "ignored",
    "remembered", "opened", "closed", "built", "found", "lost", "borrowed", "returned", "sold",
    "bought", "cleaned", "moved", "checked", "wrote about", "talked about", "looked at",
    "waited for", "asked about", "planned", "finished", "started", "followed", "explained",
    "tested", "collected", "shared", "visited", "organised", "changed", "studied", "watched",
]
OBJECTS = [
    "the wooden table", "a broken clock", "the northern bridge", "an empty bottle",
    "the long report", "a bright lantern", "the garden gate", "the morning train",
    "a heavy suitcase", "the blue notebook", "the kitchen window", "a paper map",
    "the summer festival", "the stone wall", "a cup of tea", "the winter coat", "the last letter",
    "a new bicycle", "the village school", "the small boat", "an old photograph", "the red door",
    "the weather station", "a basket of apples", "the market square", "the quiet library",
    "the mountain path", "a pair of boots", "the evening news", "the silver key",
]
PLACES = [
    "near the harbour", "in the valley", "behind the station", "across the river",
    "at the edge of town", "under the old oak", "inside the museum", "on the third floor",
    "beside the lake", "along the coast", "in the back room", "at the top of the hill",
    "outside the bakery", "between the two houses", "next to the fountain",
]
TIMES = [
    "yesterday", "this morning", "last week", "in the spring", "after lunch", "before dawn",
    "on Monday", "every Friday", "late at night", "during the storm", "in 1987", "in March",
    "two days ago", "at noon", "on the 4th of July", "around 6:30 pm",
]
ADJECTIVES = [
    "quiet", "busy", "strange", "simple", "careful", "bright", "cold", "warm", "heavy", "gentle",
    "sudden", "patient", "narrow", "wide", "ancient", "modern", "useful", "fragile", "honest",
    "clever", "noisy", "calm", "rough", "smooth", "distant", "familiar",
]
NOUNS = [
    "idea", "question", "answer", "problem", "story", "decision", "journey", "machine",
    "mistake", "promise", "season", "village", "message", "pattern", "lesson", "signal",
    "picture", "voice", "window", "record", "number", "reason", "moment", "result", "system",
]
CONNECTORS = [
    "because", "although", "while", "after", "before", "since", "unless", "when", "so that",
]
FOREIGN = [
    "café", "naïve", "résumé", "Zürich", "São Paulo", "Kraków", "façade", "jalapeño",
    "東京", "日本語", "中文", "北京", "Привет", "спасибо", "Ελλάδα", "مرحبا", "שלום",
    "안녕하세요", "🙂", "🚀", "✓", "→", "€", "£", "°C", "½",
]
SYLLABLES = [
    "ka", "lo", "mi", "ran", "tor", "vel", "shi", "bren", "dal", "or", "ith", "qua", "zen", "mar",
    "fe", "gor", "lin", "sa", "thu", "wen", "ab", "ce", "du", "el", "fi", "go", "hu", "ja", "ke",
    "ly", "na", "pe", "ri", "so", "ta", "vu", "xa", "yo", "bel", "cor", "dris", "eth", "fen",
]
TEMPLATES = [
    "{S} {V} {O} {P} {T}.",
    "{T}, {S} {V} {O}.",
    "{S} {V} {O} {C} {S2} {V2} {O2}.",
    "Did {S} really say that the {A} {N} was {A2}?",
    "It's a {A} {N}, and it isn't the first one we've seen.",
    "\"The {A} {N} is {A2},\" said {S}, \"we'll need {D} more of them.\"",
    "The {N} costs ${D}.{D2} and weighs {D3} kg; the {N2} costs {D4}% less.",
    "{S} {V} {O} {P}; {S2} didn't.",
    "Why would {S} leave {O} {P}? Nobody knows!",
    "Item {D}: {A} {N} ({A2}), item {D2}: {N2}.",
    "{S} wrote: \"{F} is {A}.\"",
    "There were {D} people {P} {T}, and {D2} of them {V} {O}.",
    "{Cap} {V} {O} -- then {S2} {V2} {O2}...",
    "Q: What did {S} find {P}?\nA: {O}.",
    "{S} {V} {O}\n{S2} {V2} {O2}\n",
    "We're sure they'd {V} {O} if {S} asked.",
    "The {A} {N} of {F}: {D} votes, {D2} against.",
    "  {Cap} {V} {O}    {P}.\t{T}.",
    "{Name} {V} {O} in {Town} {T}.",
    "In {Town}, {Name} and {Name2} {V} {O}.",
    "{Name} of {Town} wrote to {Name2}: \"{Cap} {V} {O}.\"",
    "The road from {Town} to {Town2} is {D3} km long.",
]


def make_names(count: int, rng: np.random.RandomState) -> list[str]:
    """Invented proper nouns (2-4 syllables): they give the BPE trainer enough distinct words
    to reach a vocabulary of several thousand tokens from generated prose."""
    names = []
    for _ in range(count):
        n_syllables = rng.randint(2, 5)
        word = "".join(SYLLABLES[rng.randint(len(SYLLABLES))] for _ in range(n_syllables))
        names.append(word.capitalize())
    return names


def _fill(template: str, rng: np.random.RandomState, names: list[str]) -> str:
    def pick(items):
        return items[rng.randint(len(items))]

    subject = pick(SUBJECTS)
    values = {
        "S": subject,
        "Cap": subject[0].upper() + subject[1:],
        "S2": pick(SUBJECTS),
        "V": pick(VERBS),
        "V2": pick(VERBS),
        "O": pick(OBJECTS),
        "O2": pick(OBJECTS),
        "P": pick(PLACES),
        "T": pick(TIMES),
        "A": pick(ADJECTIVES),
        "A2": pick(ADJECTIVES),
        "N": pick(NOUNS),
        "N2": pick(NOUNS),
        "C": pick(CONNECTORS),
        "F": pick(FOREIGN),
        "D": str(rng.randint(2, 100)),
        "D2": str(rng.randint(0, 100)).zfill(2),
        "D3": str(rng.randint(1, 1000)),
        "D4": str(rng.randint(1, 60)),
        "Name": pick(names),
        "Name2": pick(names),
        "Town": pick(names),
        "Town2": pick(names),
    }
    return template.format(**values)


def make_corpus(n_sentences: int, seed: int) -> list[str]:
    """n_sentences seeded sentences; templates rotate so that every shape appears."""
    rng = np.random.RandomState(seed)
    names = make_names(max(50, n_sentences // 12), rng)
    sentences = []
    for i in range(n_sentences):
        template = TEMPLATES[i % len(TEMPLATES)] if i < 4 * len(TEMPLATES) else TEMPLATES[
            rng.randint(len(TEMPLATES))
        ]
        sentence = _fill(template, rng, names)
        sentences.append(sentence[0].upper() + sentence[1:])
    return sentences
