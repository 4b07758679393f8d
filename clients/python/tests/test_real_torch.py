"""What the registry exports works in real PyTorch: from_dict/to_dict, the /python snippet, push.

Identifiers (strings) and classes are compared through ``by_identifier``: PyTorch's to_dict gives
classes, the registry stores their identifiers, and order matters on both sides.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import my_pkg.nn
import my_pkg.observed
import my_pkg.quantized
import pytest
import torch.ao.nn.quantizable as nnqa
import torch.ao.nn.quantized as nnq
from my_pkg.quantized.modules.linear import NotExported
from torch.ao.quantization.fx.custom_config import ConvertCustomConfig
from torch.ao.quantization.quant_type import QuantType

from convert_config_registry import (
    IdentifierImportError,
    NotFoundError,
    UnregisteredClassError,
    ValidationError,
    resolve_identifier,
)

MAP = "observed_to_quantized_custom_module_class"
GOLDEN = Path(__file__).resolve().parents[3] / "test" / "fixtures" / "golden-convert-custom-config.json"

#: Every quant type convert_fx consults, out of enum order; a class whose public path is not its
#: defining module; the same observed class under two quant types; a repeated attribute.
DOCUMENT = {
    MAP: {
        "weight_only": {"torch.ao.nn.quantizable.MultiheadAttention": "torch.ao.nn.quantized.MultiheadAttention"},
        "static": {
            "torch.ao.nn.quantizable.LSTM": "torch.ao.nn.quantized.LSTM",
            "my_pkg.observed.CustomLinear": "my_pkg.quantized.CustomLinear",
        },
        "dynamic": {"torch.ao.nn.quantizable.LSTM": "torch.ao.nn.quantized.LSTM"},
    },
    "preserved_attributes": ["attr_b", "attr_a", "attr_b"],
}


def as_identifiers(to_dict, identifier_of):
    """A to_dict() of classes with each class written as its identifier, order kept."""
    out = {}
    for key, value in to_dict.items():
        if key == MAP:
            out[key] = {q: {identifier_of[o]: identifier_of[c] for o, c in m.items()} for q, m in value.items()}
        else:
            out[key] = value
    return out


def identifiers_in(document):
    """{class: identifier} for every identifier of a stored document."""
    return {
        resolve_identifier(identifier): identifier
        for mapping in document.get(MAP, {}).values()
        for pair in mapping.items()
        for identifier in pair
    }


def ordered_equal(a, b):
    return json.dumps(a) == json.dumps(b)


def test_the_spec_golden_vectors_hold_in_real_pytorch():
    """The shared vectors the service's domain is tested on describe real PyTorch (1.13 here)."""
    cases = json.loads(GOLDEN.read_text())
    quant_types = {"static": QuantType.STATIC, "dynamic": QuantType.DYNAMIC, "qat": QuantType.QAT, "weight_only": QuantType.WEIGHT_ONLY}
    assert len(cases) > 10
    for case in cases:
        error = case.get("expected_error")
        try:
            config = ConvertCustomConfig.from_dict(case["input_dict"])
            for op in case.get("ops", []):
                if op["op"] == "set_observed_to_quantized_mapping":
                    extra = [quant_types[op["quant_type"]]] if "quant_type" in op else []
                    config.set_observed_to_quantized_mapping(op["observed"], op["quantized"], *extra)
                elif op["op"] == "set_preserved_attributes":
                    config.set_preserved_attributes(op["attributes"])
                else:
                    assert op["op"] == "round_trip", op
                    config = ConvertCustomConfig.from_dict(config.to_dict())
        except ValueError as raised:
            assert error is not None, f"{case['name']}: unexpected {raised!r}"
            assert str(raised) == error["message"], case["name"]
            continue
        assert error is None, f"{case['name']}: expected {error}"
        assert ordered_equal(config.to_dict(), case["expected_to_dict"]), case["name"]
        # The spec's repr is 2.1's; 1.13's ConvertCustomConfig has none of its own (object's).
        if "expected_repr_with_str_keys" in case and type(config).__repr__ is not object.__repr__:
            assert repr(config) == case["expected_repr_with_str_keys"], case["name"]


def test_load_gives_from_dict_of_the_classes_and_to_dict_gives_the_document_back(registry, name):
    registry.push(name, DOCUMENT)
    stored = registry.get_dict(name)
    assert ordered_equal(stored, DOCUMENT)

    config = registry.load(name)

    assert type(config) is ConvertCustomConfig
    by_class = identifiers_in(stored)
    assert ordered_equal(as_identifiers(config.to_dict(), by_class), stored)
    # The classes themselves, looked up by PyTorch's own keys, under each quant type.
    mapping = config.observed_to_quantized_mapping
    assert list(mapping) == [QuantType.WEIGHT_ONLY, QuantType.STATIC, QuantType.DYNAMIC]
    assert mapping[QuantType.STATIC][my_pkg.observed.CustomLinear] is my_pkg.quantized.CustomLinear
    assert mapping[QuantType.STATIC][nnqa.LSTM] is nnq.LSTM
    assert mapping[QuantType.WEIGHT_ONLY][nnqa.MultiheadAttention] is nnq.MultiheadAttention
    assert config.preserved_attributes == ["attr_b", "attr_a", "attr_b"]


def test_the_python_snippet_runs_and_builds_a_config_equal_to_dict(registry, name, tmp_path):
    registry.push(name, DOCUMENT)
    source = registry.get_python(name)
    stored = registry.get_dict(name)

    # As a user runs it: a file, a fresh interpreter (the same one, so the same torch).
    (tmp_path / "snippet.py").write_text(source)
    check = (
        "import json, runpy\n"
        "config = runpy.run_path('snippet.py')['convert_custom_config']\n"
        "print(type(config).__module__, type(config).__name__)\n"
    )
    run = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True, env=os.environ)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "torch.ao.quantization.fx.custom_config ConvertCustomConfig"

    namespace = {}
    exec(compile(source, "snippet.py", "exec"), namespace)
    built = namespace["convert_custom_config"]
    assert type(built) is ConvertCustomConfig
    assert ordered_equal(as_identifiers(built.to_dict(), identifiers_in(stored)), stored)
    # Public import paths, not defining modules.
    assert "import my_pkg.quantized\n" in source
    assert "my_pkg.quantized.modules" not in source


def test_a_config_pushed_from_a_real_convert_custom_config_reads_back_identical(registry, name):
    config = (
        ConvertCustomConfig()
        .set_observed_to_quantized_mapping(my_pkg.observed.CustomLinear, my_pkg.quantized.CustomLinear, QuantType.DYNAMIC)
        .set_observed_to_quantized_mapping(nnqa.LSTM, nnq.LSTM)
        .set_observed_to_quantized_mapping(my_pkg.observed.CustomLinear, my_pkg.quantized.CustomLinear, QuantType.WEIGHT_ONLY)
        .set_observed_to_quantized_mapping(my_pkg.observed.CustomLinear, my_pkg.quantized.CustomLinear)
        .set_preserved_attributes(["attr1"])
    )
    pushed = registry.push(name, config, description="from Python", labels={"team": "vision"})

    assert pushed.version == 1
    assert ordered_equal(
        pushed.config,
        {
            MAP: {
                "dynamic": {"my_pkg.observed.CustomLinear": "my_pkg.quantized.CustomLinear"},
                "static": {
                    "torch.ao.nn.quantizable.LSTM": "torch.ao.nn.quantized.LSTM",
                    "my_pkg.observed.CustomLinear": "my_pkg.quantized.CustomLinear",
                },
                "weight_only": {"my_pkg.observed.CustomLinear": "my_pkg.quantized.CustomLinear"},
            },
            "preserved_attributes": ["attr1"],
        },
    )
    loaded = registry.load(name)
    assert list(loaded.to_dict()[MAP].items()) == list(config.to_dict()[MAP].items())
    assert loaded.to_dict() == config.to_dict()
    assert ordered_equal(repr(list(loaded.observed_to_quantized_mapping.items())), repr(list(config.observed_to_quantized_mapping.items())))


def test_an_identifier_whose_module_does_not_import_is_named(registry, name):
    registry.register_class("my_pkg.missing.Thing", from_observed=True, exist_ok=True)
    registry.push(name, {MAP: {"static": {"torch.ao.nn.quantizable.LSTM": "my_pkg.missing.Thing"}}})
    with pytest.raises(IdentifierImportError) as raised:
        registry.load(name)
    assert raised.value.identifier == "my_pkg.missing.Thing"
    assert "cannot import module class 'my_pkg.missing.Thing': module 'my_pkg.missing' does not import" in str(raised.value)


def test_an_identifier_whose_class_is_missing_is_named(registry, name):
    registry.register_class("my_pkg.quantized.NoSuchClass", from_observed=True, exist_ok=True)
    registry.push(name, {MAP: {"static": {"torch.ao.nn.quantizable.LSTM": "my_pkg.quantized.NoSuchClass"}}})
    with pytest.raises(IdentifierImportError) as raised:
        registry.load(name)
    assert str(raised.value) == (
        "cannot import module class 'my_pkg.quantized.NoSuchClass': module 'my_pkg.quantized' has no attribute 'NoSuchClass'"
    )


def test_a_class_with_no_registered_identifier_is_refused_before_sending(registry, name):
    with pytest.raises(UnregisteredClassError) as raised:
        registry.push(name, ConvertCustomConfig().set_observed_to_quantized_mapping(nnqa.LSTM, NotExported))
    assert raised.value.candidates == ["my_pkg.quantized.modules.linear.NotExported"]
    assert "identifiers={cls: 'package.Name'}" in str(raised.value)
    with pytest.raises(NotFoundError):
        registry.get(name)


def test_an_explicit_identifier_mapping_wins(registry, name):
    config = ConvertCustomConfig().set_observed_to_quantized_mapping(nnqa.LSTM, NotExported)
    with pytest.raises(ValidationError) as raised:
        registry.push(name, config, identifiers={NotExported: "my_pkg.quantized.NotRegistered"})
    # The registry saw (and refused) exactly the identifier given.
    assert raised.value.status == 422
    assert "my_pkg.quantized.NotRegistered" in str(raised.value)
    assert raised.value.pointers == [f"/config/{MAP}/static/torch.ao.nn.quantizable.LSTM"]


def test_quant_types_given_as_the_enum_are_sent_as_their_names(registry, name):
    pushed = registry.push(name, {MAP: {QuantType.DYNAMIC: {nnqa.LSTM: nnq.LSTM}}})
    assert pushed.config == {MAP: {"dynamic": {"torch.ao.nn.quantizable.LSTM": "torch.ao.nn.quantized.LSTM"}}}
