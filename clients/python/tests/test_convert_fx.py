"""A real prepare_fx / convert_fx, driven by a config loaded from the registry by alias.

The custom module is the user's own (my_pkg: float -> observed -> quantized), because PyTorch
1.13's FX cannot convert an LSTM custom module (tuple outputs; fixed in 2.0): the LSTM stays in
the mapping only, where convert_fx looks it up and finds no such module in the model.
"""

import copy

import my_pkg.nn
import my_pkg.observed
import my_pkg.quantized
import torch
import torch.ao.nn.quantized as nnq
from torch.ao.quantization import get_default_qconfig_mapping
from torch.ao.quantization.fx.custom_config import PrepareCustomConfig
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

MAP = "observed_to_quantized_custom_module_class"
NOTE = "calibrated on 512 images"


class Model(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 1, 1)
        self.head = my_pkg.nn.CustomLinear()
        self.calibration_note = NOTE  # never used in forward: only preserved_attributes keeps it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(x))


def prepared_model():
    torch.manual_seed(0)
    engine = "qnnpack" if "qnnpack" in torch.backends.quantized.supported_engines else "fbgemm"
    torch.backends.quantized.engine = engine
    example = (torch.randn(1, 1, 4, 4),)
    prepare_config = (
        PrepareCustomConfig()
        .set_float_to_observed_mapping(my_pkg.nn.CustomLinear, my_pkg.observed.CustomLinear)
        .set_non_traceable_module_classes([my_pkg.nn.CustomLinear])
        .set_preserved_attributes(["calibration_note"])
    )
    prepared = prepare_fx(Model().eval(), get_default_qconfig_mapping(engine), example, prepare_custom_config=prepare_config)
    for batch in [example[0], *torch.randn(4, 1, 1, 4, 4)]:
        prepared(batch)  # calibration
    return prepared, example


def test_convert_fx_with_the_production_config_swaps_the_module_and_keeps_the_attributes(registry, name):
    production = registry.push(
        name,
        {
            MAP: {
                "static": {"my_pkg.observed.CustomLinear": "my_pkg.quantized.CustomLinear"},
                "dynamic": {"torch.ao.nn.quantizable.LSTM": "torch.ao.nn.quantized.LSTM"},
            },
            "preserved_attributes": ["calibration_note"],
        },
        description="production candidate",
    )
    registry.set_alias(name, "production", production.version)
    # A newer version that production does not name: no preserved attributes.
    latest = registry.push(name, {MAP: {"static": {"my_pkg.observed.CustomLinear": "my_pkg.quantized.CustomLinear"}}})
    assert latest.version == production.version + 1

    prepared, example = prepared_model()
    assert type(prepared.head) is my_pkg.observed.CustomLinear
    expected = prepared(*example)

    config = registry.load(name, alias="production")
    quantized = convert_fx(copy.deepcopy(prepared), convert_custom_config=config)

    assert type(quantized.head) is my_pkg.quantized.CustomLinear
    assert type(quantized.head.linear) is nnq.Linear
    assert type(quantized.conv).__name__ == "Conv2d" and type(quantized.conv).__module__.startswith("torch.ao.nn.quantized")
    assert quantized.calibration_note == NOTE
    output = quantized(*example)
    assert output.shape == expected.shape
    assert torch.allclose(output, expected, atol=0.1)

    # The latest version (what no alias names) would have dropped the attribute: the alias chose.
    dropped = convert_fx(copy.deepcopy(prepared), convert_custom_config=registry.load(name))
    assert type(dropped.head) is my_pkg.quantized.CustomLinear
    assert not hasattr(dropped, "calibration_note")
