"""Inputs for the tokenizer parity and chat-template fixtures (seeded, no downloads)."""

import numpy as np

from corpus import make_corpus

HANDWRITTEN = [
    "",
    " ",
    "  ",
    "\n",
    "\n\n",
    "\t",
    " \t \n ",
    "a",
    "A",
    "Hello",
    "Hello, world!",
    "hello world",
    " hello world",
    "Hello  world",
    "Hello   world   ",
    "The quick brown fox jumps over the lazy dog.",
    "THE QUICK BROWN FOX",
    "it's I'm you're we've they'll she'd",
    "IT'S I'M YOU'RE WE'VE THEY'LL SHE'D",
    "don't can't won't",
    "0",
    "7",
    "42",
    "123",
    "1234",
    "12345678901234567890",
    "3.14159",
    "-273.15",
    "1,000,000",
    "2026-11-28",
    "12:30:45",
    "v1.2.3",
    "$19.99",
    "100%",
    "a+b=c",
    "x**2 + y**2 == z**2",
    "foo_bar-baz.qux",
    "user@example.com",
    "path/to/file.txt",
    "C:\\Windows\\System32",
    "#include <stdio.h>",
    "int main() { return 0; }",
    "def f(x):\n    return x * 2\n",
    "if (a && b || !c) {\n\treturn;\n}",
    '{"key": "value", "n": [1, 2, 3]}',
    "<html><body>hi</body></html>",
    "...",
    "?!?!",
    "---",
    "***",
    "(parenthesised)",
    "[bracketed]",
    "'single' \"double\" `back`",
    "line one\nline two\nline three",
    "line one\r\nline two\r\n",
    "trailing spaces   \n  leading spaces",
    "tabs\tbetween\twords",
    "many\n\n\n\nnewlines",
    "    indented",
    "        deeply indented",
    "mixed \t\n whitespace \n\t runs",
    "café",
    "naïve résumé",
    "Zürich",
    "façade jalapeño",
    "Ångström",
    "ß and ẞ",
    "東京",
    "日本語のテキスト",
    "中文字符测试",
    "한국어 텍스트",
    "Привет, мир!",
    "Ελληνικά",
    "مرحبا بالعالم",
    "שלום עולם",
    "हिन्दी",
    "ไทย",
    "🙂",
    "🚀🚀🚀",
    "👍🏽",
    "👨‍👩‍👧‍👦",
    "🇫🇷",
    "emoji in text 🙂 here",
    "✓ → ← ↑ ↓",
    "€100 £50 ¥1000",
    "½ ¼ ¾",
    "25°C",
    "e\u0301",
    "\u00e9",
    "zero\u200bwidth",
    "non\u00a0breaking",
    "\u3000ideographic space",
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|eot_id|>",
    "<|start_header_id|>user<|end_header_id|>",
    "<|begin_of_text|>Hello",
    "Hello<|eot_id|>",
    "text <|eot_id|> more text",
    "<|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>",
    "<|begin_of_text|><|begin_of_text|>",
    "<|im_start|>user\nhi<|im_end|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|endoftext|>",
    "before<|im_end|>after",
    "<|not_a_special|>",
    "<|eot_id",
    "eot_id|>",
    "<|EOT_ID|>",
]


def _random_mix(rng: np.random.RandomState, length: int) -> str:
    pieces = [
        "a", "e", "th", "ing", " ", "  ", "\n", "\t", ".", ",", "!", "?", "'", '"', "-", "_",
        "0", "1", "42", "999", "é", "ü", "ß", "東", "京", "語", "я", "ж", "🙂", "🚀", "€",
        "<|eot_id|>", "<|im_end|>", "The", " the", " and", "Hello", " world", "'s", "'ll",
    ]
    return "".join(pieces[rng.randint(len(pieces))] for _ in range(length))


def parity_strings(seed: int) -> list[str]:
    """About 300 strings: handwritten edge cases, held-out prose, random mixes, digit runs."""
    rng = np.random.RandomState(seed)
    strings = list(HANDWRITTEN)
    strings += make_corpus(90, seed + 1)
    strings += [" ".join(make_corpus(3, seed + 100 + i)) for i in range(10)]
    strings += [_random_mix(rng, int(rng.randint(1, 30))) for _ in range(60)]
    strings += ["".join(str(d) for d in rng.randint(0, 10, size=int(rng.randint(1, 12)))) for _ in range(15)]
    strings += [" " * int(rng.randint(1, 9)) + "x" + "\n" * int(rng.randint(1, 4)) for _ in range(10)]
    unique = []
    for text in strings:
        if text not in unique:
            unique.append(text)
    return unique


CHAT_CONVERSATIONS = [
    ("system+user", [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is the capital of France?"},
    ]),
    ("user-only", [
        {"role": "user", "content": "Write a haiku about the sea."},
    ]),
    ("multi-turn", [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Hi!"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Count to three."},
    ]),
    ("assistant-last", [
        {"role": "user", "content": "Say yes."},
        {"role": "assistant", "content": "Yes."},
    ]),
    ("whitespace-and-unicode", [
        {"role": "system", "content": "  Leading and trailing spaces.  \n"},
        {"role": "user", "content": "Caf\u00e9 \U0001f642\n\nTwo paragraphs."},
    ]),
]
