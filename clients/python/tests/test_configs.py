"""The client's config operations against the live registry: get, push, history, diff, rollback,
delete/undelete, list, module classes, auth."""

import my_pkg.observed
import my_pkg.quantized
import pytest
import torch.ao.nn.quantizable as nnqa
import torch.ao.nn.quantized as nnq
from torch.ao.quantization.fx.custom_config import ConvertCustomConfig

from convert_config_registry import (
    KEEP,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    Registry,
    RegistryError,
    ValidationError,
)

MAP = "observed_to_quantized_custom_module_class"
LSTM = {MAP: {"static": {"torch.ao.nn.quantizable.LSTM": "torch.ao.nn.quantized.LSTM"}}}


def attrs(*names):
    return {"preserved_attributes": list(names)}


def test_get_the_latest_or_a_version(registry, name):
    registry.push(name, attrs("first"), description="one")
    registry.push(name, attrs("second"))
    assert registry.get(name).version == 2
    assert registry.get(name).config == attrs("second")
    first = registry.get(name, version=1)
    assert (first.version, first.config, first.description) == (1, attrs("first"), "one")
    assert registry.get_dict(name, version=1) == attrs("first")
    assert registry.load(name, version=1).preserved_attributes == ["first"]
    assert registry.get(name).etag == '"2"'
    with pytest.raises(NotFoundError) as raised:
        registry.get(name, version=3)
    assert raised.value.status == 404
    with pytest.raises(ValueError):
        registry.get(name, version=1, alias="production")


def test_an_unknown_config_is_the_registry_problem(registry):
    with pytest.raises(NotFoundError) as raised:
        registry.load("py-does-not-exist")
    assert raised.value.status == 404
    assert raised.value.title == "Not found"
    assert raised.value.detail == "Config 'py-does-not-exist' does not exist."
    assert raised.value.type == "/problems/not-found"
    assert str(raised.value).startswith("GET ")


def test_push_keeps_the_description_and_labels_unless_told(registry, name):
    registry.push(name, LSTM, description="LSTM head", labels={"team": "vision"})

    kept = registry.push(name, attrs("a"))
    assert (kept.version, kept.description, kept.labels, kept.config) == (2, "LSTM head", {"team": "vision"}, attrs("a"))

    relabelled = registry.push(name, attrs("a"), labels={"stage": "dev"})
    assert (relabelled.version, relabelled.description, relabelled.labels) == (3, "LSTM head", {"stage": "dev"})

    cleared = registry.push(name, attrs("a"), description="", labels={})
    assert (cleared.version, cleared.description, cleared.labels) == (4, "", {})
    # The same content again makes no version.
    assert registry.push(name, attrs("a"), description=KEEP).version == 4


def test_push_never_overwrites_a_description_it_did_not_read(registry, name):
    """Another client changes the description between push's read and its write: push reads again."""
    registry.push(name, attrs("a"), description="old")
    other = Registry()
    original_get = registry.get
    calls = []

    def get_then_race(*args, **kwargs):
        current = original_get(*args, **kwargs)
        if not calls:
            calls.append(current.version)
            other.push(name, attrs("a"), description="changed meanwhile")
        return current

    registry.get = get_then_race
    try:
        pushed = registry.push(name, attrs("b"))
    finally:
        del registry.get
    assert (pushed.version, pushed.description, pushed.config) == (3, "changed meanwhile", attrs("b"))


def test_push_with_if_match(registry, name):
    first = registry.push(name, attrs("a"))
    second = registry.push(name, attrs("b"), if_match=first.version)
    assert second.version == 2
    assert registry.push(name, attrs("c"), if_match=second.etag).version == 3
    with pytest.raises(PreconditionFailedError) as raised:
        registry.push(name, attrs("d"), if_match=2)
    assert raised.value.status == 412
    assert 'the current version is "3"' in raised.value.detail
    assert registry.get(name).config == attrs("c")
    # Creating with if_match on a name that does not exist is a 412 too, and creates nothing.
    with pytest.raises(PreconditionFailedError):
        registry.push(f"{name}-new", attrs("x"), if_match=1)
    with pytest.raises(NotFoundError):
        registry.get(f"{name}-new")


def test_validation_problems_carry_their_pointers(registry, name):
    with pytest.raises(ValidationError) as raised:
        registry.push(name, {MAP: {"statik": {"torch.ao.nn.quantizable.LSTM": "torch.ao.nn.quantized.LSTM"}}, "extra": 1})
    error = raised.value
    assert error.status == 422
    assert sorted(error.pointers) == sorted([f"/config/{MAP}/statik", "/config/extra"])
    assert f"/config/{MAP}/statik: Unknown QuantType name 'statik'" in str(error)
    with pytest.raises(NotFoundError):
        registry.get(name)


def test_history_pages_through_every_version_newest_first(registry, name):
    for i in range(5):
        registry.push(name, attrs(f"a{i}"), description=f"v{i + 1}")
    versions = list(registry.history(name, page_size=2))
    assert [v.version for v in versions] == [5, 4, 3, 2, 1]
    assert [v.description for v in versions] == ["v5", "v4", "v3", "v2", "v1"]
    assert versions[-1].config == attrs("a0")
    assert versions[0].updated_by == "admin"
    assert [v.version for v in registry.history(name)] == [5, 4, 3, 2, 1]


def test_diff(registry, name):
    registry.push(name, {**LSTM, **attrs("a")}, labels={"team": "vision"})
    registry.push(name, {MAP: {"static": {"torch.ao.nn.quantizable.LSTM": "torch.ao.nn.quantized.LSTM"}, "dynamic": {"torch.ao.nn.quantizable.LSTM": "torch.ao.nn.quantized.LSTM"}}, **attrs("b")}, description="two")
    diff = registry.diff(name, 1)
    assert (diff.from_version, diff.to_version) == (1, 2)
    assert diff.mappings == {"dynamic": {"added": [{"observed": "torch.ao.nn.quantizable.LSTM", "quantized": "torch.ao.nn.quantized.LSTM"}], "removed": [], "changed": []}}
    assert diff.preserved_attributes == {"added": ["b"], "removed": ["a"], "orderChanged": False}
    assert diff.description == {"from": "", "to": "two"}
    assert registry.diff(name, 2, 1).preserved_attributes["added"] == ["a"]


def test_rollback(registry, name):
    registry.push(name, attrs("good"), description="good one", labels={"stage": "prod"})
    registry.push(name, attrs("bad"), description="bad one", labels={})
    # A version read from history pushes as it is (the config only: description and labels stay).
    assert registry.push(f"{name}-copy", list(registry.history(name))[-1]).config == attrs("good")
    back = registry.rollback(name, 1)
    assert (back.version, back.config, back.description, back.labels) == (3, attrs("good"), "good one", {"stage": "prod"})
    assert registry.rollback(name, 1).version == 3  # already equal: no new version
    with pytest.raises(PreconditionFailedError):
        registry.rollback(name, 2, if_match=2)
    assert registry.rollback(name, 2, if_match=3).version == 4


def test_delete_and_undelete(registry, name):
    registry.push(name, attrs("a"), labels={"team": "gone"})
    registry.delete(name)
    with pytest.raises(NotFoundError):
        registry.get(name)
    listed = [c for c in registry.list_configs(prefix=name, show_deleted=True)]
    assert [(c.name, c.deleted) for c in listed] == [(name, True)]
    assert listed[0].deleted_at is not None
    assert [c.name for c in registry.list_configs(prefix=name)] == []
    with pytest.raises(ConflictError):
        registry.push(name, attrs("b"))  # a soft-deleted name: undelete or purge first
    restored = registry.undelete(name)
    assert (restored.version, restored.config) == (1, attrs("a"))
    registry.delete(name, purge=True)
    with pytest.raises(NotFoundError):
        registry.undelete(name)


def test_list_configs_filters_and_pages(registry, name):
    for i in range(3):
        registry.push(f"{name}-{i}", LSTM if i == 1 else attrs("a"), labels={"team": "vision", "i": str(i)})
    everything = list(registry.list_configs(prefix=name, page_size=1))
    assert [c.name for c in everything] == [f"{name}-0", f"{name}-1", f"{name}-2"]
    assert [c.name for c in registry.list_configs(prefix=name, labels={"team": "vision", "i": "2"})] == [f"{name}-2"]
    assert [c.name for c in registry.list_configs(prefix=name, uses_class=nnq.LSTM)] == [f"{name}-1"]
    assert [c.name for c in registry.list_configs(prefix=name, uses_class="torch.ao.nn.quantizable.LSTM")] == [f"{name}-1"]


def test_register_a_class_from_the_class_object(registry, name):
    # Classes of this test's own, registered under their public import paths.
    registered = registry.get_class(my_pkg.quantized.CustomLinear)
    assert registered.id == "my_pkg.quantized.CustomLinear"  # not ...modules.linear.CustomLinear
    assert registered.from_observed is True  # it defines from_observed
    assert registered.description == "A user's quantized custom module (what convert_fx swaps the observed one for)."
    observed = registry.get_class("my_pkg.observed.CustomLinear")
    assert observed.from_observed is False
    with pytest.raises(ConflictError):
        registry.register_class(my_pkg.quantized.CustomLinear)
    assert registry.register_class(my_pkg.quantized.CustomLinear, exist_ok=True).id == registered.id

    ids = [c.id for c in registry.list_classes(prefix="my_pkg.", page_size=1)]
    assert ids == sorted(ids) and {"my_pkg.nn.CustomLinear", "my_pkg.observed.CustomLinear", "my_pkg.quantized.CustomLinear"} <= set(ids)
    builtins = {c.id: c.built_in for c in registry.list_classes(prefix="torch.ao.nn.")}
    assert builtins["torch.ao.nn.quantized.LSTM"] is True

    registry.push(name, ConvertCustomConfig().set_observed_to_quantized_mapping(my_pkg.observed.CustomLinear, my_pkg.quantized.CustomLinear))
    assert name in list(registry.class_references(my_pkg.quantized.CustomLinear))


def test_delete_a_class_only_while_unused(registry, name):
    class_id = f"my_pkg.scratch.Quantized{name.replace('-', '_')}"
    registry.register_class(class_id, from_observed=True, description="scratch")
    registry.push(name, {MAP: {"static": {"torch.ao.nn.quantizable.LSTM": class_id}}})
    with pytest.raises(ConflictError) as raised:
        registry.delete_class(class_id)
    assert name in raised.value.detail or name in str(raised.value.problem)
    registry.delete(name, purge=True)
    registry.delete_class(class_id)
    with pytest.raises(NotFoundError):
        registry.get_class(class_id)


def test_roles_and_tokens(registry, registry_url, token_for, name):
    registry.push(name, attrs("a"))
    reader = Registry(registry_url, token=token_for("reader"))
    assert reader.get(name).version == 1
    with pytest.raises(PermissionDeniedError) as raised:
        reader.push(name, attrs("b"))
    assert raised.value.status == 403
    writer = Registry(registry_url, token=token_for("writer"))
    pushed = writer.push(name, attrs("b"))
    assert pushed.updated_by.startswith("py-writer-")
    with pytest.raises(PermissionDeniedError):
        writer.delete(name, purge=True)
    with pytest.raises(AuthenticationError) as raised:
        Registry(registry_url, token="ccr_not-a-real-token").get(name)
    assert raised.value.status == 401
    with pytest.raises(AuthenticationError):
        Registry(registry_url, token="").push(name, attrs("c"))  # "" means no token, not the env's


def test_the_environment_configures_the_client(monkeypatch, registry_url, admin_token):
    monkeypatch.delenv("CONVERT_CONFIG_REGISTRY_URL")
    with pytest.raises(ValueError, match="CONVERT_CONFIG_REGISTRY_URL"):
        Registry()
    monkeypatch.setenv("CONVERT_CONFIG_REGISTRY_URL", registry_url + "/")
    client = Registry()
    assert client.base_url == registry_url
    assert admin_token not in repr(client)
    assert client.get_class("torch.ao.nn.quantized.LSTM").built_in
    with pytest.raises(ValueError):
        Registry("localhost:8080")


def test_errors_are_registry_errors(registry):
    with pytest.raises(RegistryError) as raised:
        registry.get("Not A Valid Name")
    assert raised.value.status == 422
    assert raised.value.pointers == ["name"]


def test_a_class_object_in_a_hand_made_dict(registry, name):
    pushed = registry.push(name, {MAP: {"static": {nnqa.LSTM: nnq.LSTM, my_pkg.observed.CustomLinear: "my_pkg.quantized.CustomLinear"}}})
    assert list(pushed.config[MAP]["static"].items()) == [
        ("torch.ao.nn.quantizable.LSTM", "torch.ao.nn.quantized.LSTM"),
        ("my_pkg.observed.CustomLinear", "my_pkg.quantized.CustomLinear"),
    ]
