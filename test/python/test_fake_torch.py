"""The fake torch's ConvertCustomConfig behaves as PyTorch's does on the shared golden vectors
(test/fixtures/golden-convert-custom-config.json), so tests that use it prove something about
the real one. Identifiers stand in for classes, as PyTorch's setters check nothing."""

import json
import os
import unittest

from torch.ao.quantization.fx.custom_config import ConvertCustomConfig
from torch.ao.quantization.quant_type import QuantType

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "fixtures", "golden-convert-custom-config.json")
QUANT_TYPES = {"static": QuantType.STATIC, "dynamic": QuantType.DYNAMIC, "qat": QuantType.QAT, "weight_only": QuantType.WEIGHT_ONLY}


class GoldenVectorsTest(unittest.TestCase):
    def test_every_case(self):
        with open(GOLDEN) as f:
            cases = json.load(f)
        self.assertGreater(len(cases), 10)
        for case in cases:
            with self.subTest(case["name"]):
                error = case.get("expected_error")
                try:
                    config = ConvertCustomConfig.from_dict(case["input_dict"])
                    for op in case.get("ops", []):
                        if op["op"] == "set_observed_to_quantized_mapping":
                            args = [op["observed"], op["quantized"]]
                            if "quant_type" in op:
                                args.append(QUANT_TYPES[op["quant_type"]])
                            config.set_observed_to_quantized_mapping(*args)
                        elif op["op"] == "set_preserved_attributes":
                            config.set_preserved_attributes(op["attributes"])
                        elif op["op"] == "round_trip":
                            config = ConvertCustomConfig.from_dict(config.to_dict())
                        else:
                            self.fail(f"unknown op {op['op']}")
                except ValueError as raised:
                    self.assertIsNotNone(error, f"unexpected {raised!r}")
                    self.assertEqual(str(raised), error["message"])
                    continue
                self.assertIsNone(error, "expected an error")
                self.assertEqual(json.dumps(config.to_dict()), json.dumps(case["expected_to_dict"]))
                if "expected_repr_with_str_keys" in case:
                    self.assertEqual(repr(config), case["expected_repr_with_str_keys"])


if __name__ == "__main__":
    unittest.main()
