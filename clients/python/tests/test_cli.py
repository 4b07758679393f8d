"""The installed ``convert-config-registry`` command: every command, its output and exit status
(0 done, 1 refused with the problem on stderr, 2 usage)."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from convert_config_registry import NotFoundError
from convert_config_registry.cli import build_parser

MAP = "observed_to_quantized_custom_module_class"
LSTM = {MAP: {"static": {"torch.ao.nn.quantizable.LSTM": "torch.ao.nn.quantized.LSTM"}}}


def every_command(parser, prefix=()):
    """Each (sub)command's words, e.g. ('alias', 'set'), found from the parser itself."""
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        for word, sub in action.choices.items():
            yield prefix + (word,)
            yield from every_command(sub, prefix + (word,))


COMMANDS = list(every_command(build_parser()))


def test_the_commands_of_the_issue_exist():
    for command in [("get",), ("push",), ("history",), ("diff",), ("alias", "set"), ("alias", "get"), ("alias", "history"), ("validate",), ("watch",)]:
        assert command in COMMANDS


@pytest.mark.parametrize("command", [()] + COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_help_on_every_command(cli, command):
    run = cli(*command, "--help")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("usage: convert-config-registry")
    assert run.stderr == ""


def test_python_dash_m_is_the_same_command(registry_url):
    run = subprocess.run([sys.executable, "-m", "convert_config_registry", "--version"], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.startswith("convert-config-registry ")


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["nope"],
        ["get"],
        ["get", "x", "--version", "1", "--alias", "production"],
        ["get", "x", "--format", "yaml"],
        ["diff", "x", "one"],
        ["alias"],
        ["alias", "set", "x", "production"],
        ["watch", "x", "--wait", "0"],
        ["push", "x", "FILE", "--label", "no-equals-sign"],
    ],
    ids=lambda a: " ".join(a) or "nothing",
)
def test_usage_errors_exit_2(cli, args, tmp_path):
    (tmp_path / "f.json").write_text("{}")
    run = cli(*[str(tmp_path / "f.json") if a == "FILE" else a for a in args])
    assert run.returncode == 2, run.stdout + run.stderr
    assert "usage: convert-config-registry" in run.stderr
    assert run.stdout == ""


def test_no_registry_url_is_a_usage_error(cli):
    run = cli("get", "x", env={"CONVERT_CONFIG_REGISTRY_URL": ""})
    assert run.returncode == 2
    assert "CONVERT_CONFIG_REGISTRY_URL" in run.stderr


def test_get_in_every_format(cli, registry, name):
    registry.push(name, {**LSTM, "preserved_attributes": ["a"]}, description="d")
    resource = cli("get", name)
    assert resource.returncode == 0, resource.stderr
    assert json.loads(resource.stdout)["version"] == 1
    as_dict = cli("get", name, "--format", "dict", "--version", "1")
    assert json.loads(as_dict.stdout) == {**LSTM, "preserved_attributes": ["a"]}
    snippet = cli("get", name, "--format", "python")
    assert snippet.stdout == registry.get_python(name)


def test_a_registry_error_exits_1_with_the_problem_on_stderr(cli, name):
    run = cli("get", name)
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr == f"convert-config-registry: error: 404 Not found: Config '{name}' does not exist.\n"


def test_a_registry_that_is_not_there_exits_1(cli):
    run = cli("--retries", "0", "get", "x", env={"CONVERT_CONFIG_REGISTRY_URL": "http://127.0.0.1:9"})
    assert run.returncode == 1
    assert "cannot reach the registry" in run.stderr


def test_push_a_to_dict_json_file(cli, registry, name, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**LSTM, "preserved_attributes": ["a"]}))
    run = cli("push", name, str(path), "--description", "from a file", "--label", "team=vision")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["version"] == 1
    stored = registry.get(name)
    assert (stored.description, stored.labels, stored.config) == ("from a file", {"team": "vision"}, {**LSTM, "preserved_attributes": ["a"]})

    # Again, from stdin, only over version 1; description and labels kept.
    again = cli("push", name, "-", "--if-match", "1", stdin=json.dumps({"preserved_attributes": ["b"]}))
    assert again.returncode == 0, again.stderr
    assert (registry.get(name).version, registry.get(name).description, registry.get(name).labels) == (2, "from a file", {"team": "vision"})

    stale = cli("push", name, str(path), "--if-match", "1")
    assert stale.returncode == 1
    assert "412 Precondition failed" in stale.stderr
    assert registry.get(name).version == 2


def test_push_a_python_file_that_builds_a_real_config(cli, registry, name, tmp_path):
    (tmp_path / "layers.py").write_text("ATTRIBUTES = ['calibration_note']\n")
    path = tmp_path / "my_config.py"
    path.write_text(
        "from torch.ao.quantization.fx.custom_config import ConvertCustomConfig\n"
        "import my_pkg.observed, my_pkg.quantized\n"
        "from layers import ATTRIBUTES\n"
        "convert_custom_config = (ConvertCustomConfig()\n"
        "    .set_observed_to_quantized_mapping(my_pkg.observed.CustomLinear, my_pkg.quantized.CustomLinear)\n"
        "    .set_preserved_attributes(ATTRIBUTES))\n"
    )
    run = cli("push", name, str(path))
    assert run.returncode == 0, run.stderr
    assert registry.get_dict(name) == {
        MAP: {"static": {"my_pkg.observed.CustomLinear": "my_pkg.quantized.CustomLinear"}},
        "preserved_attributes": ["calibration_note"],
    }


def test_push_refusals_exit_1_and_store_nothing(cli, registry, name, tmp_path):
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps({MAP: {"statik": {"torch.ao.nn.quantizable.LSTM": "torch.ao.nn.quantized.LSTM"}}}))
    run = cli("push", name, str(invalid))
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        "convert-config-registry: error: 422 Validation failed: The request body does not match the schema.",
        f"  /config/{MAP}/statik: Unknown QuantType name 'statik'",
    ]
    not_json = tmp_path / "notes.json"
    not_json.write_text("static: LSTM")
    assert "is not JSON" in cli("push", name, str(not_json)).stderr
    assert cli("push", name, str(tmp_path / "missing.json")).returncode == 1
    no_config = tmp_path / "empty.py"
    no_config.write_text("x = 1\n")
    run = cli("push", name, str(no_config))
    assert (run.returncode, run.stderr.strip()) == (1, f"convert-config-registry: error: {no_config} defines no convert_custom_config")
    unregistered = tmp_path / "unregistered.py"
    unregistered.write_text(
        "import torch.ao.nn.quantizable\nfrom my_pkg.quantized.modules.linear import NotExported\n"
        "convert_custom_config = {'observed_to_quantized_custom_module_class': {'static': {torch.ao.nn.quantizable.LSTM: NotExported}}}\n"
    )
    run = cli("push", name, str(unregistered))
    assert run.returncode == 1 and "no registered identifier for class" in run.stderr
    with pytest.raises(NotFoundError):
        registry.get(name)


def test_push_dry_run(cli, registry, name, tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(LSTM))
    run = cli("push", name, str(path), "--dry-run")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["version"] == 1
    assert "dry run: nothing was stored" in run.stderr
    assert cli("get", name).returncode == 1


def test_history_diff_rollback_delete_undelete_list(cli, registry, name):
    registry.push(name, {"preserved_attributes": ["a"]}, description="first", labels={"team": "vision"})
    registry.push(name, {"preserved_attributes": ["b"]}, description="second")

    history = cli("history", name)
    assert history.returncode == 0
    lines = [line.split("\t") for line in history.stdout.splitlines()]
    assert [(line[0], line[2], line[3]) for line in lines] == [("2", "admin", "second"), ("1", "admin", "first")]
    as_json = [json.loads(line) for line in cli("history", name, "--json").stdout.splitlines()]
    assert [v["version"] for v in as_json] == [2, 1]

    diff = json.loads(cli("diff", name, "1", "2").stdout)
    assert diff["changes"]["preservedAttributes"] == {"added": ["b"], "removed": ["a"], "orderChanged": False}
    assert json.loads(cli("diff", name, "1").stdout)["to"] == 2
    assert cli("diff", name, "1", "7").returncode == 1

    rolled = cli("rollback", name, "1")
    assert rolled.returncode == 0 and json.loads(rolled.stdout)["version"] == 3
    assert cli("rollback", name, "2", "--if-match", "2").returncode == 1

    listed = cli("list", "--prefix", name, "--label", "team=vision")
    assert listed.stdout.split("\t")[:2] == [name, "3"]
    assert [json.loads(line)["name"] for line in cli("list", "--prefix", name, "--json").stdout.splitlines()] == [name]

    deleted = cli("delete", name)
    assert (deleted.returncode, deleted.stderr.strip()) == (0, f"convert-config-registry: deleted {name}")
    assert cli("get", name).returncode == 1
    assert "deleted" in cli("list", "--prefix", name, "--show-deleted").stdout
    assert json.loads(cli("undelete", name).stdout)["version"] == 3
    assert cli("delete", name, "--purge").returncode == 0
    assert cli("undelete", name).returncode == 1


def test_validate(cli, tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({MAP: {"qat": {"torch.ao.nn.quantizable.LSTM": "torch.ao.nn.quantized.LSTM"}}, "preserved_attributes": []}))
    run = cli("validate", str(good))
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["config"] == {MAP: {"qat": {"torch.ao.nn.quantizable.LSTM": "torch.ao.nn.quantized.LSTM"}}}
    assert "warning:" in run.stderr and "qat" in run.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({MAP: {"static": {"torch.ao.nn.quantizable.LSTM": "my_pkg.NotRegistered"}}}))
    run = cli("validate", str(bad))
    assert run.returncode == 1
    assert f"/config/{MAP}/static/torch.ao.nn.quantizable.LSTM" in run.stderr


def test_alias_commands(cli, registry, name):
    registry.push(name, {"preserved_attributes": ["a"]})
    registry.push(name, {"preserved_attributes": ["b"]})
    set_ = cli("alias", "set", name, "production", "1")
    assert set_.returncode == 0, set_.stderr
    assert json.loads(set_.stdout)["moves"] == 1
    assert cli("alias", "set", name, "production", "2", "--if-match", "1").returncode == 0
    assert cli("alias", "set", name, "production", "1", "--if-match", "1").returncode == 1
    assert cli("alias", "set", name, "production", "9").returncode == 1
    assert json.loads(cli("alias", "get", name, "production").stdout)["version"] == 2
    assert cli("alias", "list", name).stdout.split("\t")[:2] == ["production", "2"]
    assert json.loads(cli("get", name, "--alias", "production", "--format", "dict").stdout) == {"preserved_attributes": ["b"]}
    assert cli("alias", "delete", name, "production").returncode == 0
    assert cli("alias", "get", name, "production").returncode == 1
    history = [line.split("\t")[:2] for line in cli("alias", "history", name, "production").stdout.splitlines()]
    assert history == [["deleted", "2"], ["2", "1"], ["1", ""]]
    assert [json.loads(line)["version"] for line in cli("alias", "history", name, "production", "--json").stdout.splitlines()] == [None, 2, 1]


def test_class_commands(cli, registry, name):
    listed = cli("class", "list", "--prefix", "my_pkg.")
    assert "my_pkg.quantized.CustomLinear\tfromObserved" in listed.stdout
    # A class that imports here: registered under its public path, from_observed found on it.
    registered = cli("class", "register", "torch.nn.modules.linear.Linear", "--exist-ok")
    assert registered.returncode == 0, registered.stderr
    assert json.loads(registered.stdout)["id"] == "torch.nn.Linear"
    assert json.loads(registered.stdout)["fromObserved"] is False
    taken = cli("class", "register", "my_pkg.quantized.CustomLinear")
    assert taken.returncode == 1 and "409" in taken.stderr
    absent = cli("class", "register", "their_pkg.Quantized")
    assert absent.returncode == 1 and "cannot import module class 'their_pkg.Quantized'" in absent.stderr
    by_name = cli("class", "register", f"their_pkg.Q{name.replace('-', '_')}", "--no-import", "--from-observed")
    assert by_name.returncode == 0 and json.loads(by_name.stdout)["fromObserved"] is True


def test_events(cli, registry, name):
    registry.push(name, {"preserved_attributes": ["a"]})
    run = cli("events", "--name", name)
    events = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(e["type"], e["version"]) for e in events] == [("config.version_created", 1)]
    assert cli("events", "--after", str(events[0]["revision"]), "--name", name).stdout == ""


def test_watch_prints_each_new_version_and_stops_on_interrupt(registry, name):
    registry.push(name, {"preserved_attributes": ["a"]})
    script = Path(sys.executable).parent / "convert-config-registry"
    watch = subprocess.Popen([str(script), "watch", name, "--wait", "5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    try:
        first = json.loads(watch.stdout.readline())
        assert (first["version"], first["config"]) == (1, {"preserved_attributes": ["a"]})
        registry.push(name, {"preserved_attributes": ["b"]})
        second = json.loads(watch.stdout.readline())
        assert second["version"] == 2
    finally:
        watch.send_signal(signal.SIGINT)
        _, stderr = watch.communicate(timeout=20)
    assert watch.returncode == 130, stderr
    assert "Traceback" not in stderr


def test_watch_of_a_missing_config_exits_1(cli, name):
    run = cli("watch", name, "--wait", "1")
    assert run.returncode == 1 and "404" in run.stderr


def test_output_into_a_closed_pipe_is_not_an_error(registry, name):
    for i in range(3):
        registry.push(name, {"preserved_attributes": [f"a{i}"]})
    script = Path(sys.executable).parent / "convert-config-registry"
    shell = subprocess.run(f"'{script}' history {name} | head -n 1", shell=True, capture_output=True, text=True, env=os.environ)
    assert shell.stdout.startswith("3\t")
    assert "Traceback" not in shell.stderr and "BrokenPipe" not in shell.stderr
