"""Aliases, reading by alias, the change feed, validation and dry runs, against the live registry."""

import threading

import pytest
import torch.ao.nn.quantizable as nnqa
import torch.ao.nn.quantized as nnq
from torch.ao.quantization.fx.custom_config import ConvertCustomConfig
from torch.ao.quantization.quant_type import QuantType

from convert_config_registry import (
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    Registry,
    ValidationError,
)

MAP = "observed_to_quantized_custom_module_class"


def attrs(*names):
    return {"preserved_attributes": list(names)}


def newest_revision(registry):
    feed = registry.events(limit=1000)
    for _ in feed:
        pass
    return feed.last_revision


def three_versions(registry, name):
    for i in range(3):
        registry.push(name, attrs(f"a{i}"), description=f"v{i + 1}")


def test_set_move_and_read_an_alias(registry, name):
    three_versions(registry, name)
    created = registry.set_alias(name, "production", 1)
    assert (created.name, created.alias, created.version, created.moves, created.protected) == (name, "production", 1, 1, False)
    assert created.updated_by == "admin"
    moved = registry.set_alias(name, "production", 2)
    assert (moved.version, moved.moves) == (2, 2)
    assert registry.set_alias(name, "production", 2).moves == 2  # unchanged: no move
    registry.set_alias(name, "candidate", 3)

    assert registry.get_alias(name, "production").version == 2
    assert [(a.alias, a.version) for a in registry.aliases(name)] == [("candidate", 3), ("production", 2)]

    # Reading by alias: the version it names, whatever the latest is.
    assert registry.get(name, alias="production").version == 2
    assert registry.get(name, alias="production").description == "v2"
    assert registry.get_dict(name, alias="production") == attrs("a1")
    assert "set_preserved_attributes(['a1'])" in registry.get_python(name, alias="production")
    assert registry.load(name, alias="candidate").preserved_attributes == ["a2"]
    with pytest.raises(NotFoundError) as raised:
        registry.load(name, alias="staging")
    assert "staging" in raised.value.detail


def test_alias_preconditions_and_rules(registry, name):
    three_versions(registry, name)
    registry.set_alias(name, "production", 1)
    assert registry.set_alias(name, "production", 2, if_match=1).moves == 2
    with pytest.raises(PreconditionFailedError):
        registry.set_alias(name, "production", 3, if_match=1)
    with pytest.raises(ValidationError) as raised:
        registry.set_alias(name, "production", 99)
    assert raised.value.pointers == ["/version"]
    with pytest.raises(ValidationError):
        registry.set_alias(name, "latest", 1)  # reserved
    with pytest.raises(NotFoundError):
        registry.set_alias(f"{name}-missing", "production", 1)


def test_protected_aliases_need_an_admin(registry, registry_url, token_for, name):
    three_versions(registry, name)
    registry.set_alias(name, "production", 1, protected=True)
    writer = Registry(registry_url, token=token_for("writer"))
    with pytest.raises(PermissionDeniedError):
        writer.set_alias(name, "production", 2)
    assert writer.set_alias(name, "staging", 2).version == 2
    assert registry.set_alias(name, "production", 2).protected is True


def test_alias_history_and_delete(registry, name):
    three_versions(registry, name)
    registry.set_alias(name, "production", 1)
    registry.set_alias(name, "production", 3)
    registry.delete_alias(name, "production")
    with pytest.raises(NotFoundError):
        registry.get_alias(name, "production")
    moves = list(registry.alias_history(name, "production", page_size=1))
    assert [(m.version, m.previous_version) for m in moves] == [(None, 3), (3, 1), (1, None)]
    assert all(m.moved_by == "admin" and m.moved_at is not None for m in moves)


def test_validate_stores_nothing(registry, name):
    config = (
        ConvertCustomConfig()
        .set_observed_to_quantized_mapping(nnqa.LSTM, nnq.LSTM, QuantType.QAT)
        .set_preserved_attributes(["attr1"])
    )
    result = registry.validate(config)
    assert result.config == {MAP: {"qat": {"torch.ao.nn.quantizable.LSTM": "torch.ao.nn.quantized.LSTM"}}, "preserved_attributes": ["attr1"]}
    assert result.content_hash.startswith("sha256:")
    assert any("qat" in w for w in result.warnings)
    with pytest.raises(ValidationError) as raised:
        registry.validate({MAP: {"Static": {}}})
    assert raised.value.pointers == [f"/config/{MAP}/Static"]
    # Same canonical form, same hash, as a stored write.
    pushed = registry.push(name, config)
    assert pushed.content_hash == result.content_hash


def test_dry_runs_answer_what_would_happen_and_store_nothing(registry, name):
    with pytest.raises(NotFoundError):
        registry.get(name)
    would = registry.push(name, attrs("a"), description="first", dry_run=True)
    assert (would.version, would.config, would.description) == (1, attrs("a"), "first")
    with pytest.raises(NotFoundError):
        registry.get(name)

    registry.push(name, attrs("a"))
    registry.push(name, attrs("b"))
    registry.delete(name)
    registry.undelete(name)
    head = newest_revision(registry)
    assert registry.rollback(name, 1, dry_run=True).version == 3
    assert registry.set_alias(name, "production", 1, dry_run=True).version == 1
    assert registry.push(name, attrs("c"), dry_run=True).version == 3
    with pytest.raises(ValidationError):
        registry.push(name, {MAP: {"statik": {}}}, dry_run=True)
    assert registry.get(name).version == 2
    with pytest.raises(NotFoundError):
        registry.get_alias(name, "production")
    assert newest_revision(registry) == head  # no event, no revision used
    registry.delete(name)
    assert registry.undelete(name, dry_run=True).version == 2
    with pytest.raises(NotFoundError):
        registry.get(name)
    assert newest_revision(registry) == head + 1  # the delete, and nothing else


def test_the_change_feed(registry, name):
    start = list(registry.events(name=name))
    assert start == []
    registry.push(name, attrs("a"))
    registry.push(name, attrs("b"))
    registry.set_alias(name, "production", 2)
    registry.delete(name)

    feed = registry.events(name=name, limit=2)
    events = list(feed)
    assert [(e.type, e.version) for e in events] == [
        ("config.version_created", 1),
        ("config.version_created", 2),
        ("alias.set", 2),
        ("config.deleted", 2),
    ]
    revisions = [e.revision for e in events]
    assert revisions == sorted(revisions) and len(set(revisions)) == 4
    assert feed.last_revision >= revisions[-1]
    assert events[2].alias == "production" and all(e.name == name and e.by == "admin" for e in events)
    # Resume from a revision; filter by type.
    assert [e.version for e in registry.events(after=revisions[0], name=name, types=["config.version_created"])] == [2]
    # No config content in events.
    assert "config" not in events[0].raw


def test_following_the_feed_yields_a_change_made_meanwhile(registry, registry_url, admin_token, name):
    registry.push(name, attrs("a"))
    after = list(registry.events(name=name))[-1].revision
    feed = registry.events(after=after, name=name, follow=True, wait=10)
    other = Registry(registry_url, token=admin_token)
    timer = threading.Timer(0.5, lambda: other.push(name, attrs("b")))
    timer.start()
    try:
        event = next(feed)
    finally:
        timer.join()
    assert (event.type, event.name, event.version) == ("config.version_created", name, 2)
    assert feed.last_revision == event.revision
