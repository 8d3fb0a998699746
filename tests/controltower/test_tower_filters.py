"""The tower's URL state, parsed and written back without a database."""

from controltower.selectors import TowerFilters, tower_columns


def test_known_values_are_kept_and_written_back():
    filters = TowerFilters.from_query(
        {
            "brand": "northwind",
            "phase": "escalated",
            "owner": "maya",
            "attention": "1",
            "sort": "-budget",
            "page": "3",
        }
    )
    assert filters == TowerFilters("northwind", "escalated", "maya", True, "-budget", 3)
    assert filters.query(page=3) == (
        "brand=northwind&phase=escalated&owner=maya&attention=1&sort=-budget&page=3"
    )


def test_unknown_or_hostile_values_fall_back_to_defaults():
    filters = TowerFilters.from_query(
        {"phase": "launched'; DROP TABLE", "sort": "password", "page": "-4", "attention": "maybe"}
    )
    assert filters == TowerFilters()
    assert TowerFilters.from_query({"page": "two"}).page == 1
    assert filters.query() == ""


def test_changing_a_filter_returns_to_page_one():
    filters = TowerFilters(phase="paused", page=4)
    assert filters.query(brand="lumen") == "brand=lumen&phase=paused"


def test_sort_headers_toggle_direction_and_report_aria_sort():
    columns = {c.label: c for c in tower_columns(TowerFilters(sort="name"))}
    assert columns["Campaign"].href == "sort=-name"
    assert columns["Campaign"].aria_sort == "ascending"
    assert columns["Owner"].href == "sort=owner" and columns["Owner"].aria_sort == "none"
    assert not columns["Next action"].sortable
    descending = {c.label: c for c in tower_columns(TowerFilters(sort="-sla"))}
    assert descending["SLA"].aria_sort == "descending" and descending["SLA"].href == "sort=sla"
