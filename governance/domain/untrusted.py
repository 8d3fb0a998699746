"""Text agents did not write themselves — uploaded contacts, scraped pages, replies, and
what agents write for people — is data, never instructions. In pure Python.

``injection_findings`` says why a text reads as an attempt to instruct an agent or the
system (override its rules, give it a new role, command a product action, smuggle in
script). A finding changes nothing by itself: the text is kept, marked, shown escaped,
and withheld from agents' prompts; it never runs and never reaches a policy.

The patterns are deliberately conservative. Notes about real people say "ignores cold
emails" or "interested in launching a new line": those must pass, so every pattern needs
a command's shape (an imperative verb *and* what it acts on), not a single keyword.

``sanitize_rich_text`` keeps the little formatting agent-written rich text needs and
drops everything else (scripts, styles, attributes, non-web links).

What may be trusted of outside text is a rule for every app, so it is on the ground
floor: crm flags uploaded contacts with it, the agents keep flagged text out of their
prompts, the tower sanitises agent-written rich text (``{{ value|sanitized }}``).
"""

from __future__ import annotations

import re
import unicodedata

import nh3

# Invisible characters used to split trigger words ("ig\u200bnore") so a plain pattern
# misses them; they are removed before matching.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
# Bidirectional overrides reorder what a reviewer sees without changing what a model
# reads ("Trojan Source"); plain notes never need them.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")

# Where a command can start: the beginning of the text or a sentence/clause, or after a
# word that introduces one ("please", "and", "now", or an address to the agent).
_LEAD = (
    r"(?:^|[.!?;:,\n(\[{\"'\u201c\u2018*>\-\u2013\u2014]\s*"
    r"|\b(?:please|pls|kindly|just|now|and|then|also|immediately|agent|assistant|ai|bot)"
    r"\s*,?\s+)"
)
# Words that may sit between an override verb and what it overrides
# ("ignore all of your previous instructions").
_FILLER = (
    r"(?:(?:all|any|of|your|the|my|its|their|these|those|previous|prior|above|earlier|"
    r"preceding|existing|current|original|system|safety|every|such)\s+){0,4}"
)
_GUARDRAILS = (
    r"(?:rules?|instructions?|polic(?:y|ies)|guidelines?|guardrails?|restrictions?|"
    r"constraints?|directives?|prompts?|programming|safeguards?|limits?|limitations?|"
    r"approvals?|permissions?)"
)

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (reason, re.compile(pattern, re.IGNORECASE | re.MULTILINE))
    for reason, pattern in (
        (
            "tries to override an agent's rules or instructions",
            rf"\b(?:ignore|disregard|forget|override|bypass|circumvent|overrule)\s+"
            rf"{_FILLER}{_GUARDRAILS}\b",
        ),
        (
            "tries to override an agent's rules or instructions",
            r"\b(?:new|updated|revised|real|actual)\s+(?:system\s+)?instructions?\s*:",
        ),
        (
            "tries to give an agent a new role",
            r"\byou\s+are\s+(?:now|no\s+longer)\b"
            r"(?!\s+(?:subscribed|unsubscribed|registered|enrolled|signed\s+up|on\s+(?:our|the)"
            r"\s+(?:list|waitlist|waiting\s+list)))",
        ),
        (
            "tries to give an agent a new role",
            r"\bfrom\s+now\s+on\s*,?\s+(?:you|the\s+agent|the\s+assistant)\b",
        ),
        (
            "tries to give an agent a new role",
            # "act as" only as a command ("Act as an admin"), not "wants to act as a
            # reseller".
            rf"{_LEAD}(?P<command>act\s+as)\b|\bact\s+as\s+(?:if|though)\s+you\b",
        ),
        (
            "mentions the system prompt",
            r"\bsystem\s*(?:prompt|message|instructions?)\b|<\|(?:im_start|im_end|system|"
            r"endoftext)\|>|\[/?INST\]|<<\s*/?SYS\s*>>",
        ),
        (
            "reads as a role-play or jailbreak attempt",
            r"\bjail\s*break|\bdeveloper\s+mode\b|\bdo\s+anything\s+now\b|\bDAN\s+mode\b|"
            r"\bpretend\s+(?:to\s+be|you\s*(?:are|'re)|that\s+you)\b|\brole[\s-]*play\s+as\b|"
            r"\bstay\s+in\s+character\b|\bwithout\s+(?:any\s+)?(?:restrictions|filters|"
            r"guardrails|censorship)\b",
        ),
        (
            "tells an agent to launch",
            r"\blaunch\s+(?:it\s+|this\s+|that\s+|everything\s+|all\s+|the\s+campaigns?\s+|"
            r"(?:this\s+|the\s+)?campaigns?\s+)?(?:right\s+)?(?:now|immediately)\b(?!\s+that)|"
            r"\b(?:go\s+live|start\s+the\s+campaign)\s+(?:right\s+)?(?:now|immediately)\b",
        ),
        (
            "tells an agent to approve",
            rf"{_LEAD}(?P<command>(?:auto[\s-]?)?approve\s+(?:this|it|that|everything|all|them|now|"
            r"immediately|the\s+(?:request|campaign|launch|claims?|changes?|budget\s+change)|"
            r"my\s+request)\b)|\bauto[\s-]?approve\b|\bmark\s+(?:this|it|them)\s+(?:as\s+)?"
            r"approved\b",
        ),
        (
            "tells an agent to raise the budget",
            rf"{_LEAD}(?P<command>(?:increase|raise|double|triple|boost|bump\s+up|max\s+out|"
            r"maximi[sz]e|remove|lift|uncap)\s+(?:the\s+|your\s+|our\s+|its\s+|all\s+)?"
            r"(?:daily\s+|campaign\s+|ad\s+|total\s+|media\s+)?(?:budgets?|spend(?:ing)?|caps?|"
            r"spending\s+limits?|budget\s+caps?)\b)",
        ),
        (
            "tells an agent to skip review",
            r"\b(?:skip|bypass|avoid|disable|turn\s+off|switch\s+off)\s+(?:the\s+|any\s+|all\s+)?"
            r"(?:legal|review|reviews|approvals?|compliance|policy|guardrails?|gate|"
            r"checks?|qa|moderation)\b|\bwithout\s+(?:legal\s+|any\s+)?(?:review|approval)\b",
        ),
        (
            "tells an agent to change permissions",
            r"\b(?:grant|give)\s+(?:me|yourself|us|this\s+user)\s+(?:full\s+|admin\s+)?"
            r"(?:admin|administrator|access|permissions?|privileges?)\b|"
            r"\bmake\s+me\s+(?:an?\s+)?(?:admin|administrator|superuser)\b|"
            r"\b(?:change|update|edit|rewrite)\s+(?:the\s+|your\s+)?(?:delegation\s+)?"
            r"(?:policy|permissions)\s+(?:to|so)\b",
        ),
        (
            "tells an agent to reveal or move data",
            r"\b(?:reveal|print|show|repeat|output|leak|send|export|email)\s+(?:me\s+)?"
            r"(?:your|the|all)\s+(?:(?:system\s+)?prompt|instructions|api\s+keys?|"
            r"credentials|secrets|passwords?|contacts|contact\s+list|leads)\b|"
            r"\b(?:delete|remove|wipe|drop)\s+(?:all|every)\s+(?:the\s+)?(?:contacts|leads|"
            r"campaigns|records|data)\b",
        ),
        (
            "contains script or markup",
            r"<\s*/?\s*(?:script|iframe|object|embed|svg|style|link|meta|base|form|img|"
            r"math|template)\b|\b(?:javascript|vbscript|livescript)\s*:|"
            r"\bdata\s*:\s*text/html|<[^>]*\bon[a-z]+\s*=|\bon[a-z]{3,}\s*=\s*[\"'`]",
        ),
        (
            "contains a spreadsheet formula",
            r"^\s*[=+@]\s*[a-z][a-z0-9.]*\s*[(|!]",
        ),
    )
)

_SNIPPET_CHARS = 60


def injection_findings(text: str) -> list[str]:
    """Why ``text`` reads as instructions to an agent or the system; empty if it doesn't.

    Each reason is a sentence a reviewer can read, quoting the words that triggered it.
    Case, extra whitespace, invisible characters and look-alike letters (full-width,
    ligatures) do not hide a match.
    """
    if not text:
        return []
    findings: list[str] = []
    if _BIDI_CONTROLS.search(text):
        findings.append("contains hidden text-direction controls")
    normal = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    normal = re.sub(r"[^\S\n]+", " ", normal)
    seen: set[str] = set()
    for reason, pattern in _PATTERNS:
        match = pattern.search(normal)
        if match is None or reason in seen:
            continue
        seen.add(reason)
        # A command's lead-in ("and", "please") is not part of what it says.
        said = match.groupdict().get("command") or match.group(0)
        findings.append(f"{reason} (“{_snippet(said)}”)")
    return findings


def _snippet(matched: str) -> str:
    words = " ".join(matched.split()).strip(" .,;:!?([{\"'*>-\u201c\u2018\u2013\u2014")
    if len(words) > _SNIPPET_CHARS:
        words = words[: _SNIPPET_CHARS - 1] + "…"
    return words


# Only what agent-written rich text needs; everything else is dropped, and links go to
# the web or to email, nowhere else (no javascript:, no data:, no relative paths into
# the app). nofollow: a link an agent wrote is no endorsement of ours.
_RICH_TEXT = nh3.Cleaner(
    tags={"p", "br", "strong", "em", "ul", "ol", "li", "a"},
    attributes={"a": {"href"}},
    url_schemes={"http", "https", "mailto"},
    url_relative="deny",
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


def sanitize_rich_text(html: str) -> str:
    """``html`` reduced to paragraphs, line breaks, emphasis, lists and web/mail links;
    safe to insert into a page as it is."""
    return _RICH_TEXT.clean(html or "")
