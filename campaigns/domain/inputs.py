"""What text and numbers people and machines may send, in pure Python — one place for the
rules every door applies (the brief form, the API, CSV and telemetry imports).

* **Numbers are plain ASCII**: ``1000``, ``-5``, ``12.50``. Python's ``Decimal`` and
  ``int`` also read ``"٣٠٠٠"`` (Arabic-Indic digits) and ``"1_000"``; an outside probe got
  both accepted as budgets. A figure people read back must be the one they typed.
* **Text carries no control characters** (a tab or a line break only where the field is
  multi-line) **and no bidirectional overrides** (U+202E and friends can make
  "gpj.exe" display as "exe.jpg": in a name on a shared screen, that is a spoof).
"""

from __future__ import annotations

import re
import unicodedata

#: Digits, an optional minus and one optional decimal point, in ASCII.
_ASCII_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_ASCII_INTEGER = re.compile(r"-?[0-9]+")

#: Characters that reorder how text is displayed (Unicode's explicit directional
#: formatting characters, the marks, and the Arabic letter mark).
BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)


def is_ascii_number(text: str) -> bool:
    """``"12.50"`` yes; ``"٣٠٠٠"``, ``"1_000"``, ``"1e3"``, ``" 5"`` no."""
    return bool(_ASCII_NUMBER.fullmatch(text))


def is_ascii_integer(text: str) -> bool:
    return bool(_ASCII_INTEGER.fullmatch(text))


def text_problem(value: str, *, multiline: bool = False) -> str:
    """Why ``value`` may not be stored as text people will read ("" when it may)."""
    for char in value:
        if char in BIDI_CONTROLS:
            return (
                f"Remove the invisible direction mark U+{ord(char):04X}: it changes how "
                "the text is displayed."
            )
        if unicodedata.category(char) == "Cc" and not (multiline and char in "\n\r\t"):
            return f"Remove the control character U+{ord(char):04X}."
    return ""
