"""Rules a brand wrote as sentences become rules the checker applies (no database)."""

import pytest

from memory.domain.written_rules import (
    Placement,
    PlacementBan,
    phrase_bans,
    placement_bans,
    read_written_rules,
)

SUBJECT, HEADLINE = Placement.SUBJECT_LINE, Placement.HEADLINE


@pytest.mark.parametrize(
    ("text", "bans"),
    [
        (
            "Discount-led subject lines lift opens but cut repeat orders; keep “% off” out "
            "of subject lines.",
            [PlacementBan("% off", SUBJECT)],
        ),
        ("No '% off' in the subject, please.", [PlacementBan("% off", SUBJECT)]),
        ("“Free” never goes in subject lines.", [PlacementBan("Free", SUBJECT)]),
        (
            "Don\u2019t put \u2018sale\u2019 or \u2018deal\u2019 in headlines.",  # curly quotes
            [PlacementBan("sale", HEADLINE), PlacementBan("deal", HEADLINE)],
        ),
        (
            'Keep words such as "sale" out of subject lines and headlines.',
            [PlacementBan("sale", HEADLINE)],  # both places: the broader one
        ),
        ("Lead with “roasted to order” in subject lines.", []),  # a positive rule
        ("Keep % off out of subject lines.", []),  # nothing quoted: nothing read
        ("Short sentences. Talk about the farm, the roast and the cup.", []),
    ],
)
def test_placement_rules(text, bans):
    assert list(placement_bans(text)) == bans


@pytest.mark.parametrize(
    ("text", "bans"),
    [
        (
            "Say 'roasted to order', never 'the best coffee in the world'.",
            ["the best coffee in the world"],
        ),
        ('Never call us "cheapest": we compete on freshness.', ["cheapest"]),
        ("Avoid “sale”, “deal” and “bargain”.", ["sale", "deal", "bargain"]),
        ("Use “fresh”, not “cheap”.", ["cheap"]),
        ("Frame insights as “understand your nights”, never as fixing a problem.", []),
        ("Don't shout; say “hello” kindly.", []),  # the apostrophe opens no quote
    ],
)
def test_phrases_the_voice_avoids(text, bans):
    assert list(phrase_bans(text)) == bans


def test_a_brands_rules_read_together():
    rules = read_written_rules(
        [
            "Warm, plain-spoken. Say 'roasted to order', never 'the best coffee in the world'.",
            "Keep “% off” out of subject lines.",
            "Keep “sale” out of headlines; “% off” stays out of headlines too.",
        ]
    )
    assert rules.headline == ("sale", "% off")
    assert rules.subject_line == ()  # already kept out of every headline
    assert rules.avoided == ("the best coffee in the world",)
