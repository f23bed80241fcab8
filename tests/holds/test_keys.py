"""Key layout: one hash tag per resource, reversible escaping, prefix checks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.crc import key_slot

from holds import InvalidHold
from holds.keys import (
    check_prefix,
    escape_resource,
    holds_key_pattern,
    policy_channel,
    policy_key,
    resource_from_holds_key,
    resource_keys,
    unescape_resource,
)


def redis_hash_tag(key: str) -> str | None:
    """The hash tag Redis Cluster would use for a key (first '{', then the first '}' after it)."""
    open_at = key.find("{")
    close_at = key.find("}", open_at + 1)
    if open_at < 0 or close_at < 0 or close_at == open_at + 1:
        return None
    return key[open_at + 1 : close_at]


@given(st.text(min_size=1))
def test_every_key_of_a_resource_has_the_same_non_empty_hash_tag(resource):
    names = resource_keys("calproxy", resource).as_list()
    tags = {redis_hash_tag(name) for name in names}
    assert tags == {escape_resource(resource)}
    assert len({key_slot(name.encode()) for name in names}) == 1


@given(st.text(min_size=1), st.text(min_size=1))
def test_distinct_resources_get_distinct_tags(a, b):
    if a != b:
        assert escape_resource(a) != escape_resource(b)


@given(st.text(min_size=1))
def test_escape_round_trips_and_leaves_no_braces(resource):
    tag = escape_resource(resource)
    assert "{" not in tag and "}" not in tag
    assert unescape_resource(tag) == resource


@pytest.mark.parametrize("resource", ["et:42", "a{b}c", "%7B", "}{", "100%", "group:{x}:y"])
def test_resource_is_recovered_from_its_holds_key(resource):
    key = resource_keys("cp:test", resource).holds
    assert key.startswith("cp:test:hold:{") and key.endswith("}:h")
    assert resource_from_holds_key("cp:test", key) == resource


def test_foreign_keys_are_not_taken_for_resources():
    assert resource_from_holds_key("cp", "cp:hold:{a}:s") is None
    assert resource_from_holds_key("cp", "other:hold:{a}:h") is None


def test_scan_pattern_escapes_glob_characters_of_the_prefix():
    assert holds_key_pattern("a*b") == "a\\*b:hold:{*}:h"


@pytest.mark.parametrize("prefix", ["", "a{b", "a}b"])
def test_prefix_with_braces_is_refused(prefix):
    with pytest.raises(InvalidHold):
        check_prefix(prefix)


def test_policy_key_and_channel_share_a_tag():
    assert redis_hash_tag(policy_key("p")) == redis_hash_tag(policy_channel("p")) == "policy"
