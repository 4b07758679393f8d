"""The distribution itself: installed as a user installs it, versioned with the service,
standard library only, typed, Python 3.9 syntax."""

import ast
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import convert_config_registry

HERE = Path(__file__).resolve().parent
PACKAGE_JSON = HERE.parents[2] / "package.json"
PYPROJECT = HERE.parent / "pyproject.toml"
INSTALLED = Path(convert_config_registry.__file__).parent


def pyproject_version() -> str:
    # tomllib is 3.11+; the one line is enough and needs nothing.
    for line in PYPROJECT.read_text().splitlines():
        if line.startswith("version = "):
            return line.split('"')[1]
    raise AssertionError("no version in pyproject.toml")


def test_versioned_with_the_service():
    service = json.loads(PACKAGE_JSON.read_text())["version"]
    assert pyproject_version() == service
    assert metadata.version("convert-config-registry") == service
    assert convert_config_registry.__version__ == service


def test_licensed_as_the_service_with_the_license_text_in_the_distribution():
    license_text = (HERE.parents[2] / "LICENSE").read_text()
    assert license_text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    # A copy beside pyproject.toml, since pip builds this folder alone; the two must not drift.
    assert (HERE.parent / "LICENSE").read_text() == license_text
    meta = metadata.metadata("convert-config-registry")
    assert meta["License"] == json.loads(PACKAGE_JSON.read_text())["license"] == "Apache-2.0"
    assert meta.get_all("License-File") == ["LICENSE"]
    # Where the wheel puts it: dist-info/LICENSE (setuptools < 77), dist-info/licenses/LICENSE after.
    dist = metadata.distribution("convert-config-registry")
    assert (dist.read_text("LICENSE") or dist.read_text("licenses/LICENSE")) == license_text


def test_the_installed_package_is_what_runs_not_the_source_tree():
    assert "site-packages" in str(INSTALLED), INSTALLED
    assert (INSTALLED / "py.typed").exists()
    console = Path(sys.executable).parent / "convert-config-registry"
    assert console.exists()
    entry_points = {ep.name: ep.value for ep in metadata.entry_points(group="console_scripts") if ep.name == "convert-config-registry"}
    assert entry_points == {"convert-config-registry": "convert_config_registry.cli:main"}
    assert metadata.requires("convert-config-registry") is None  # no dependencies at all


def modules():
    return sorted(INSTALLED.glob("*.py"))


def test_standard_library_only_and_torch_only_where_a_config_is_built():
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    top_level_torch = []
    for path in modules():
        tree = ast.parse(path.read_text(), feature_version=(3, 9))  # Python 3.9 syntax
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                root = name.split(".")[0]
                if root == "torch":
                    top_level_torch.append((path.name, node.lineno))
                else:
                    assert root in stdlib, f"{path.name}:{node.lineno} imports {name}"
        # torch only inside functions, never at module level.
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not any(n.split(".")[0] == "torch" for n in names), f"{path.name}:{node.lineno} imports torch at module level"
    assert [name for name, _ in top_level_torch] == ["identifiers.py"]


def test_importing_the_package_and_running_the_cli_do_not_import_torch():
    check = (
        "import sys, convert_config_registry, convert_config_registry.cli\n"
        "convert_config_registry.Registry('http://127.0.0.1:9')\n"
        "print('torch' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"


def test_every_public_name_is_exported_and_documented():
    for name in convert_config_registry.__all__:
        value = getattr(convert_config_registry, name)
        if callable(value) and not name.startswith("_"):
            assert (value.__doc__ or "").strip(), f"{name} has no docstring"
    public = [n for n in dir(convert_config_registry.Registry) if not n.startswith("_")]
    for name in public:
        member = getattr(convert_config_registry.Registry, name)
        assert (member.__doc__ or "").strip(), f"Registry.{name} has no docstring"
