"""The Python side of the registry, as an ML engineer uses it, against a listening server.

Run by test/python/python-client.test.ts with REGISTRY_URL set and PYTHONPATH holding
clients/python and test/fixtures/python (the fake torch and a user's my_pkg). That test registers
the my_pkg classes first.
"""

import json
import os
import subprocess
import sys
import threading
import unittest
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import convert_config_registry as registry
import my_pkg.observed
import my_pkg.quantized
import torch.ao.nn.quantizable
import torch.ao.nn.quantized
from my_pkg.quantized.modules.linear import NotExported
from torch.ao.quantization.fx import custom_config
from torch.ao.quantization.fx.custom_config import ConvertCustomConfig
from torch.ao.quantization.quant_type import QuantType

BASE_URL = os.environ["REGISTRY_URL"]

MAP = "observed_to_quantized_custom_module_class"

#: A config touching every quant type out of enum order, a custom class whose public path is not
#: its defining module, an overwritten key, and preserved attributes with a duplicate.
DICT = {
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


def http(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE_URL + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return response.read().decode()


def ordered(value):
    """A value with every dict turned into a list of pairs, so comparisons see the order."""
    if isinstance(value, dict):
        return [(k, ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return value


def to_identifiers(config_dict, by_class):
    """A to_dict() of classes, with each class written as the identifier it was loaded from."""
    out = {}
    for key, value in config_dict.items():
        if key == MAP:
            out[key] = {q: {by_class[o]: by_class[c] for o, c in m.items()} for q, m in value.items()}
        else:
            out[key] = value
    return out


class RegistryCase(unittest.TestCase):
    name = None

    def setUp(self):
        custom_config.CALLS.clear()


class SnippetTest(RegistryCase):
    """GET /v1/configs/{name}/python runs as is and builds the same to_dict(), order included."""

    def test_snippet_runs_and_reproduces_the_dict(self):
        http("PUT", "/v1/configs/py-snippet", {"config": DICT})
        source = http("GET", "/v1/configs/py-snippet/python")
        stored = json.loads(http("GET", "/v1/configs/py-snippet/dict"))
        self.assertEqual(ordered(stored), ordered(DICT))

        # Run it as a user would: a fresh interpreter, the file as is.
        check = (
            "import json, runpy\n"
            "ns = runpy.run_path('snippet.py')\n"
            "print(repr(ns['convert_custom_config']))\n"
        )
        directory = os.environ["SNIPPET_DIR"]
        with open(os.path.join(directory, "snippet.py"), "w") as f:
            f.write(source)
        run = subprocess.run([sys.executable, "-c", check], cwd=directory, capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertTrue(run.stdout.startswith("ConvertCustomConfig({"), run.stdout)

        # And in this process, to look at what it built and which calls built it.
        namespace = {}
        exec(compile(source, "snippet.py", "exec"), namespace)
        config = namespace["convert_custom_config"]
        self.assertIsInstance(config, ConvertCustomConfig)
        by_class = {}
        for mapping in stored[MAP].values():
            for identifier in [*mapping.keys(), *mapping.values()]:
                by_class[registry.resolve_identifier(identifier)] = identifier
        self.assertEqual(ordered(to_identifiers(config.to_dict(), by_class)), ordered(stored))
        self.assertEqual(json.dumps(to_identifiers(config.to_dict(), by_class)), json.dumps(stored))

        quant_types = {"static": QuantType.STATIC, "dynamic": QuantType.DYNAMIC, "weight_only": QuantType.WEIGHT_ONLY}
        expected_calls = [
            ("set_observed_to_quantized_mapping", registry.resolve_identifier(o), registry.resolve_identifier(q), quant_types[t])
            for t, m in stored[MAP].items()
            for o, q in m.items()
        ] + [("set_preserved_attributes", ["attr_b", "attr_a", "attr_b"])]
        self.assertEqual(custom_config.CALLS, expected_calls)
        # The public import paths, not the defining modules, and the very classes.
        self.assertIn("import my_pkg.quantized\n", source)
        self.assertNotIn("my_pkg.quantized.modules", source)
        self.assertIs(custom_config.CALLS[2][2], my_pkg.quantized.CustomLinear)


class LoadTest(RegistryCase):
    """load_convert_custom_config resolves identifiers with importlib and calls from_dict."""

    def test_from_dict_gets_the_classes_in_order(self):
        http("PUT", "/v1/configs/py-load", {"config": DICT})
        config = registry.load_convert_custom_config(BASE_URL, "py-load")
        self.assertIsInstance(config, ConvertCustomConfig)
        self.assertEqual(custom_config.CALLS[0][0], "from_dict")
        given = custom_config.CALLS[0][1]
        self.assertEqual(
            ordered(given),
            ordered(
                {
                    MAP: {
                        "weight_only": {torch.ao.nn.quantizable.MultiheadAttention: torch.ao.nn.quantized.MultiheadAttention},
                        "static": {
                            torch.ao.nn.quantizable.LSTM: torch.ao.nn.quantized.LSTM,
                            my_pkg.observed.CustomLinear: my_pkg.quantized.CustomLinear,
                        },
                        "dynamic": {torch.ao.nn.quantizable.LSTM: torch.ao.nn.quantized.LSTM},
                    },
                    "preserved_attributes": ["attr_b", "attr_a", "attr_b"],
                }
            ),
        )
        # from_dict replayed the setters in that order; the classes are the objects themselves.
        setters = [c for c in custom_config.CALLS if c[0] == "set_observed_to_quantized_mapping"]
        self.assertEqual([(c[1], c[3]) for c in setters], [
            (torch.ao.nn.quantizable.MultiheadAttention, QuantType.WEIGHT_ONLY),
            (torch.ao.nn.quantizable.LSTM, QuantType.STATIC),
            (my_pkg.observed.CustomLinear, QuantType.STATIC),
            (torch.ao.nn.quantizable.LSTM, QuantType.DYNAMIC),
        ])
        self.assertIs(setters[2][2], my_pkg.quantized.CustomLinear)

    def test_a_version(self):
        http("PUT", "/v1/configs/py-versions", {"config": {"preserved_attributes": ["first"]}})
        http("PUT", "/v1/configs/py-versions", {"config": {"preserved_attributes": ["second"]}})
        self.assertEqual(registry.load_convert_custom_config(BASE_URL, "py-versions", version=1).preserved_attributes, ["first"])
        self.assertEqual(registry.load_convert_custom_config(BASE_URL, "py-versions").preserved_attributes, ["second"])
        self.assertEqual(registry.get(BASE_URL, "py-versions")["version"], 2)
        self.assertEqual(registry.get(BASE_URL, "py-versions", version=1)["config"], {"preserved_attributes": ["first"]})
        self.assertEqual(registry.get_dict(BASE_URL, "py-versions", version=1), {"preserved_attributes": ["first"]})

    def test_a_missing_module_names_the_identifier(self):
        http("PUT", "/v1/configs/py-missing", {"config": {MAP: {"static": {"torch.ao.nn.quantizable.LSTM": "my_pkg.missing.Thing"}}}})
        with self.assertRaises(registry.IdentifierImportError) as raised:
            registry.load_convert_custom_config(BASE_URL, "py-missing")
        self.assertEqual(raised.exception.identifier, "my_pkg.missing.Thing")
        self.assertIn("cannot import module class 'my_pkg.missing.Thing'", str(raised.exception))
        self.assertIn("module 'my_pkg.missing' does not import", str(raised.exception))
        self.assertNotIn("from_dict", [c[0] for c in custom_config.CALLS])

    def test_a_missing_attribute_names_the_identifier(self):
        http("PUT", "/v1/configs/py-no-attr", {"config": {MAP: {"static": {"torch.ao.nn.quantizable.LSTM": "my_pkg.quantized.NoSuchClass"}}}})
        with self.assertRaises(registry.IdentifierImportError) as raised:
            registry.load_convert_custom_config(BASE_URL, "py-no-attr")
        self.assertEqual(str(raised.exception), "cannot import module class 'my_pkg.quantized.NoSuchClass': module 'my_pkg.quantized' has no attribute 'NoSuchClass'")

    def test_an_unknown_config_is_the_registry_problem(self):
        with self.assertRaises(registry.RegistryError) as raised:
            registry.load_convert_custom_config(BASE_URL, "py-does-not-exist")
        self.assertEqual(raised.exception.status, 404)
        self.assertEqual(raised.exception.detail, "Config 'py-does-not-exist' does not exist.")
        self.assertEqual(raised.exception.problem["type"], "https://convert-config-registry.dev/problems/not-found")


class PushTest(RegistryCase):
    """push turns classes back into their registered public identifiers."""

    def test_a_config_object_round_trips(self):
        config = (
            ConvertCustomConfig()
            .set_observed_to_quantized_mapping(my_pkg.observed.CustomLinear, my_pkg.quantized.CustomLinear, QuantType.DYNAMIC)
            .set_observed_to_quantized_mapping(torch.ao.nn.quantizable.LSTM, torch.ao.nn.quantized.LSTM)
            .set_preserved_attributes(["attr1"])
        )
        resource = registry.push(BASE_URL, "py-push", config, description="pushed from Python", labels={"team": "vision"})
        self.assertEqual(resource["version"], 1)
        self.assertEqual(
            json.dumps(resource["config"]),
            json.dumps({
                MAP: {
                    "dynamic": {"my_pkg.observed.CustomLinear": "my_pkg.quantized.CustomLinear"},
                    "static": {"torch.ao.nn.quantizable.LSTM": "torch.ao.nn.quantized.LSTM"},
                },
                "preserved_attributes": ["attr1"],
            }),
        )
        self.assertEqual(resource["labels"], {"team": "vision"})
        loaded = registry.load_convert_custom_config(BASE_URL, "py-push")
        self.assertEqual(ordered(loaded.to_dict()), ordered(config.to_dict()))

    def test_if_match_and_the_problem_detail(self):
        registry.push(BASE_URL, "py-if-match", {"preserved_attributes": ["a"]})
        registry.push(BASE_URL, "py-if-match", {"preserved_attributes": ["b"]}, if_match='"1"')
        with self.assertRaises(registry.RegistryError) as raised:
            registry.push(BASE_URL, "py-if-match", {"preserved_attributes": ["c"]}, if_match=1)
        self.assertEqual(raised.exception.status, 412)
        self.assertIn("the current version is \"2\"", raised.exception.detail)

    def test_validation_problems_carry_their_pointers(self):
        with self.assertRaises(registry.RegistryError) as raised:
            registry.push(BASE_URL, "py-invalid", {MAP: {"statik": {"torch.ao.nn.quantizable.LSTM": "torch.ao.nn.quantized.LSTM"}}})
        self.assertEqual(raised.exception.status, 422)
        self.assertEqual(raised.exception.errors[0]["pointer"], f"/config/{MAP}/statik")
        self.assertIn(f"/config/{MAP}/statik: Unknown QuantType name 'statik'", str(raised.exception))

    def test_an_unregistered_class_is_refused_before_sending(self):
        with self.assertRaises(registry.UnregisteredClassError) as raised:
            registry.push(BASE_URL, "py-unregistered", {MAP: {"static": {torch.ao.nn.quantizable.LSTM: NotExported}}})
        self.assertEqual(raised.exception.candidates, ["my_pkg.quantized.modules.linear.NotExported"])
        self.assertIn("pass identifiers=", str(raised.exception))
        with self.assertRaises(registry.RegistryError):
            registry.get(BASE_URL, "py-unregistered")

    def test_an_explicit_identifier_mapping_wins(self):
        with self.assertRaises(registry.RegistryError) as raised:
            registry.push(
                BASE_URL,
                "py-explicit",
                {MAP: {"static": {torch.ao.nn.quantizable.LSTM: NotExported}}},
                identifiers={NotExported: "my_pkg.quantized.NotRegistered"},
            )
        # The registry saw (and refused) exactly the identifier given.
        self.assertEqual(raised.exception.status, 422)
        self.assertIn("my_pkg.quantized.NotRegistered", str(raised.exception))


class TokenTest(unittest.TestCase):
    """The token goes out as `Authorization: Bearer`; checked on a local stub, since this
    registry runs without auth."""

    def test_bearer_token(self):
        seen = {}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen["authorization"] = self.headers.get("Authorization")
                body = b'{"preserved_attributes": ["x"]}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = HTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}"
            self.assertEqual(registry.get_dict(url, "x", token="s3cret"), {"preserved_attributes": ["x"]})
        finally:
            server.shutdown()
            server.server_close()
        self.assertEqual(seen["authorization"], "Bearer s3cret")


class CompatibilityTest(unittest.TestCase):
    def test_the_client_is_python_3_9_syntax_and_stdlib_only(self):
        import ast

        with open(registry.__file__) as f:
            tree = ast.parse(f.read(), feature_version=(3, 9))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
        stdlib = set(sys.stdlib_module_names) | {"__future__"}
        # torch is the user's own (imported lazily, only to build the ConvertCustomConfig).
        self.assertEqual(imported - stdlib, {"torch"})


if __name__ == "__main__":
    unittest.main()
