"""The rules file's status_page block: checked with errors that name the line,
and the page's order (groups in the order of their first member, then order)."""

from __future__ import annotations

import pytest

from app.rules.config import RulesError, parse_rules


def test_a_service_listed_twice_is_refused_naming_its_line() -> None:
    text = (
        "status_page:\n"
        "  components:\n"
        "    - service: checkout\n"
        "      name: Checkout\n"
        "    - service: checkout\n"
        "      name: Shop\n"
    )
    with pytest.raises(RulesError) as refused:
        parse_rules(text, "rules.yaml")
    assert "rules.yaml:5: status_page.components.1.service" in str(refused.value)
    assert "'checkout' is listed twice" in str(refused.value)


@pytest.mark.parametrize(
    ("component", "problem"),
    [
        ("{service: a, nme: A}", "nme: Extra inputs are not permitted"),
        ("{service: a}", "name: Field required"),
        ("{service: a, name: A, order: many}", "order: Input should be a valid integer"),
    ],
)
def test_a_bad_component_is_refused(component: str, problem: str) -> None:
    with pytest.raises(RulesError, match=problem):
        parse_rules(f"status_page:\n  components:\n    - {component}\n")


def test_without_the_block_no_service_is_public() -> None:
    assert parse_rules("routes: []\n").status_page.components == []


def test_components_are_shown_by_group_then_order() -> None:
    rules = parse_rules(
        "status_page:\n"
        "  url: https://status.example.com/\n"
        "  components:\n"
        "    - {service: api, name: API, group: Platform, order: 2}\n"
        "    - {service: search, name: Search}\n"
        "    - {service: db, name: Database, group: Platform, order: 1}\n"
        "    - {service: cart, name: Cart, group: Shop}\n"
        "    - {service: web, name: Website, order: -1}\n"
    )
    page = rules.status_page
    assert [c.name for c in page.ordered()] == ["Website", "Search", "Database", "API", "Cart"]
    assert page.url == "https://status.example.com"
