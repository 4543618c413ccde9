"""Alertmanager matcher syntax, as rules files use it."""

from __future__ import annotations

import pytest

from app.rules.matchers import Matcher, MatcherError, all_match, parse_matchers


def one(text: str) -> Matcher:
    matchers = parse_matchers(text)
    assert len(matchers) == 1, matchers
    return matchers[0]


@pytest.mark.parametrize(
    ("text", "name", "op", "value"),
    [
        ('env="prod"', "env", "=", "prod"),
        ('env!="prod"', "env", "!=", "prod"),
        ('service=~"pay.*"', "service", "=~", "pay.*"),
        ('service!~"pay.*"', "service", "!~", "pay.*"),
        ('  env = "prod"  ', "env", "=", "prod"),
    ],
)
def test_each_operator_parses_to_name_op_value(text: str, name: str, op: str, value: str) -> None:
    matcher = one(text)
    assert (matcher.name, matcher.op, matcher.value) == (name, op, value)


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ('env="prod"', {"env": "prod"}, True),
        ('env="prod"', {"env": "production"}, False),
        ('env!="prod"', {"env": "prod"}, False),
        ('env!="prod"', {"env": "staging"}, True),
        ('service=~"pay.*"', {"service": "payments"}, True),
        ('service=~"pay.*"', {"service": "checkout"}, False),
        ('service!~"pay.*"', {"service": "payments"}, False),
        ('service!~"pay.*"', {"service": "checkout"}, True),
    ],
)
def test_each_operator_matches_as_alertmanager_does(
    text: str, labels: dict[str, str], expected: bool
) -> None:
    assert one(text).matches(labels) is expected


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ('service=~"pay"', "payments", False),
        ('service=~"pay"', "prepay", False),
        ('service=~"pay"', "pay", True),
        ('service=~"pay|checkout"', "checkout", True),
        # Alternatives are anchored as a whole, not just the first and last.
        ('service=~"pay|checkout"', "paycheckout", False),
        ('service=~"pay|checkout"', "checkouts", False),
        # "$" alone would also match before a trailing newline.
        ('service=~"pay"', "pay\n", False),
        ('service!~"pay"', "payments", True),
        ('service!~"pay"', "pay", False),
    ],
)
def test_regexes_are_anchored_at_both_ends(text: str, value: str, expected: bool) -> None:
    assert one(text).matches({"service": value}) is expected


def test_missing_label_is_not_equal_to_a_value() -> None:
    assert one('env!="prod"').matches({"alertname": "X"}) is True
    assert one('env="prod"').matches({"alertname": "X"}) is False


def test_missing_label_matches_the_empty_string() -> None:
    assert one('env=""').matches({"alertname": "X"}) is True
    assert one('env=""').matches({"env": "prod"}) is False
    assert one('env=~".*"').matches({}) is True
    assert one('env=~".+"').matches({}) is False
    assert one('env!~".+"').matches({}) is True


def test_quoted_value_keeps_escaped_quotes_and_commas() -> None:
    matcher = one(r'summary="say \"hi\", then leave"')
    assert matcher.value == 'say "hi", then leave'
    assert matcher.matches({"summary": 'say "hi", then leave'})


def test_quoted_value_unescapes_backslash_and_newline() -> None:
    assert one(r'path="C:\\temp"').value == "C:\\temp"
    assert one(r'msg="a\nb"').value == "a\nb"


def test_str_round_trips_through_the_parser() -> None:
    original = one(r'summary=~"say \"hi\", \\d+"')
    assert str(original) == r'summary=~"say \"hi\", \\d+"'
    assert one(str(original)) == original


@pytest.mark.parametrize(
    ("text", "value"),
    [("env=prod", "prod"), ("instance=web-1:9100", "web-1:9100"), ("env = prod ", "prod")],
)
def test_unquoted_values_are_accepted(text: str, value: str) -> None:
    assert one(text).value == value


def test_brace_list_parses_every_matcher() -> None:
    matchers = parse_matchers('{a="1", b=~"x|y"}')
    assert [(m.name, m.op, m.value) for m in matchers] == [("a", "=", "1"), ("b", "=~", "x|y")]
    assert all_match(matchers, {"a": "1", "b": "y"})
    assert not all_match(matchers, {"a": "1", "b": "z"})
    assert not all_match(matchers, {"a": "2", "b": "x"})


def test_comma_separated_list_without_braces() -> None:
    matchers = parse_matchers('alertname="DiskFull", env!="dev",severity=~"crit.*"')
    assert [m.name for m in matchers] == ["alertname", "env", "severity"]


def test_comma_inside_a_quoted_value_does_not_split_the_list() -> None:
    matchers = parse_matchers('{a="1,2", b="3"}')
    assert [(m.name, m.value) for m in matchers] == [("a", "1,2"), ("b", "3")]


def test_all_match_of_no_matchers_is_true() -> None:
    assert all_match([], {"anything": "x"})


@pytest.mark.parametrize("text", ['env~="prod"', 'env=!"prod"', 'env<>"prod"', 'env!"prod"'])
def test_bad_operator_is_a_matcher_error(text: str) -> None:
    with pytest.raises(MatcherError, match="cannot parse matcher"):
        parse_matchers(text)


def test_create_rejects_an_unknown_operator() -> None:
    with pytest.raises(MatcherError, match="unknown operator '<>'"):
        Matcher.create("env", "<>", "prod")


@pytest.mark.parametrize("regex", ["(", "[a-", "*", "a)|(b"])
def test_invalid_regex_is_a_matcher_error_naming_it(regex: str) -> None:
    with pytest.raises(MatcherError, match="invalid regular expression") as caught:
        parse_matchers(f'service=~"{regex}"')
    assert repr(regex) in str(caught.value)


def test_invalid_regex_fails_for_negative_regex_too() -> None:
    with pytest.raises(MatcherError, match="invalid regular expression"):
        parse_matchers('service!~"("')


def test_equality_values_are_not_regexes() -> None:
    matcher = one('service="("')
    assert matcher.matches({"service": "("})


@pytest.mark.parametrize("text", ["", "   ", "{}", "{ }"])
def test_empty_matcher_is_an_error(text: str) -> None:
    with pytest.raises(MatcherError, match="empty matcher"):
        parse_matchers(text)


@pytest.mark.parametrize(
    "text",
    [
        'a="1" b="2"',  # missing comma
        'a="1",,b="2"',
        'a="unterminated',
        '{a="1"',
        'a="1"}',
        '1abc="x"',  # label names cannot start with a digit
        '="x"',
    ],
)
def test_malformed_text_is_an_error_quoting_the_input(text: str) -> None:
    with pytest.raises(MatcherError, match="cannot parse matcher") as caught:
        parse_matchers(text)
    assert repr(text) in str(caught.value)


def test_matcher_error_is_a_value_error() -> None:
    assert issubclass(MatcherError, ValueError)
