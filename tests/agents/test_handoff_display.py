"""Handoffs shown as people read them: fractions as percentages, lists as words, and
citations as links to the brand's memory with their titles."""

import pytest

from agents.selectors.handoffs import entry_pairs, generic_entries
from memory.selectors import references
from tests.memory.builders import add

pytestmark = pytest.mark.django_db


def test_shares_read_as_percentages_and_lists_as_words():
    pairs = dict(entry_pairs({"share": 0.166667, "confidence": 0.95, "cites": ["M15", "C3"]}))
    assert pairs == {"Share": "17 %", "Confidence": "95 %", "Cites": "M15, C3"}
    shares = dict(entry_pairs({"arm_shares": {"A": 0.5, "B": 0.5}}))
    assert shares == {"Arm shares": "A 50 %, B 50 %"}
    (spend,) = generic_entries({"spend": 12345.678})
    assert spend.text == "12,345.68"


def test_citations_name_the_brands_memory_and_nothing_else(manager, brand_a, brand_b):
    ours = add(brand_a, manager, text="Ships in recycled packaging.")
    theirs = add(brand_b, manager, text="Another brand's fact.")
    found = references(brand_a.pk, [ours.ref, theirs.ref, "M999999", "nonsense"])
    assert list(found) == [ours.ref]
    assert found[ours.ref].title == "Ships in recycled packaging."
    assert found[ours.ref].url.endswith(f"/entries/{ours.pk}/")
