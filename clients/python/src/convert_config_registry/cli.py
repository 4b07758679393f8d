"""The command line: ``convert-config-registry COMMAND ...`` (or ``python -m convert_config_registry``).

Exit status: 0 done; 1 the registry (or the local Python side) refused, with the problem's
detail and pointers on stderr; 2 the command line itself is wrong (argparse's usage message).
Results go to stdout (JSON, one object per line for lists and streams), messages to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import runpy
import sys
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

from . import __version__
from .client import KEEP, TOKEN_ENV, URL_ENV, Registry
from .errors import IdentifierImportError, RegistryError, UnregisteredClassError
from .identifiers import resolve_identifier

PROG = "convert-config-registry"


class UsageError(Exception):
    """A command line that cannot be run as given (exit 2)."""


class InputError(Exception):
    """A FILE that cannot be used (exit 1)."""


# --- output ----------------------------------------------------------------------------------


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _print_lines(values: Iterable[Any]) -> None:
    """One compact JSON object per line, flushed (for pipes into jq, or a watch)."""
    for value in values:
        print(json.dumps(value, ensure_ascii=False), flush=True)


def _table(rows: Iterable[Sequence[Any]]) -> None:
    for row in rows:
        print("\t".join("" if cell is None else str(cell) for cell in row), flush=True)


def _when(value: Any) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z") if value is not None else ""


def _warnings(warnings: List[str]) -> None:
    for warning in warnings:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)


# --- input -----------------------------------------------------------------------------------


def load_config_file(path: str) -> Any:
    """A to_dict JSON file (``-`` for stdin), or a Python file defining ``convert_custom_config``
    (a ConvertCustomConfig or its to_dict form, with classes or identifiers)."""
    if path.endswith(".py"):
        if not os.path.isfile(path):
            raise InputError(f"{path}: no such file")
        directory = os.path.dirname(os.path.abspath(path))
        sys.path.insert(0, directory)  # as `python FILE` would, so it imports what lies beside it
        try:
            namespace = runpy.run_path(path, run_name="__convert_config__")
        finally:
            sys.path.remove(directory)
        if "convert_custom_config" not in namespace:
            raise InputError(f"{path} defines no convert_custom_config")
        return namespace["convert_custom_config"]
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    except OSError as error:
        raise InputError(f"{path}: {error.strerror or error}") from None
    try:
        document = json.loads(text)
    except ValueError as error:
        raise InputError(f"{path} is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise InputError(f"{path}: expected a to_dict JSON object, not {type(document).__name__}")
    return document


def _labels(pairs: Optional[List[str]], clear: bool) -> Any:
    if clear:
        return {}
    if not pairs:
        return KEEP
    labels: Dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise UsageError(f"--label {pair!r}: expected KEY=VALUE")
        labels[key] = value
    return labels


# --- commands --------------------------------------------------------------------------------


def cmd_get(registry: Registry, args: argparse.Namespace) -> None:
    if args.format == "python":
        sys.stdout.write(registry.get_python(args.name, version=args.version, alias=args.alias))
    elif args.format == "dict":
        _print_json(registry.get_dict(args.name, version=args.version, alias=args.alias))
    else:
        _print_json(registry.get(args.name, version=args.version, alias=args.alias).raw)


def cmd_push(registry: Registry, args: argparse.Namespace) -> None:
    config = load_config_file(args.file)
    description = KEEP if args.description is None else args.description
    pushed = registry.push(
        args.name,
        config,
        description=description,
        labels=_labels(args.label, args.clear_labels),
        if_match=args.if_match,
        dry_run=args.dry_run,
    )
    _print_json(pushed.raw)
    _warnings(pushed.warnings)
    if args.dry_run:
        print(f"{PROG}: dry run: nothing was stored", file=sys.stderr)


def cmd_history(registry: Registry, args: argparse.Namespace) -> None:
    versions = registry.history(args.name)
    if args.json:
        _print_lines(v.raw for v in versions)
    else:
        _table((v.version, _when(v.created_at), v.updated_by, v.description) for v in versions)


def cmd_diff(registry: Registry, args: argparse.Namespace) -> None:
    _print_json(registry.diff(args.name, args.from_version, args.to_version).raw)


def cmd_rollback(registry: Registry, args: argparse.Namespace) -> None:
    _print_json(registry.rollback(args.name, args.version, if_match=args.if_match, dry_run=args.dry_run).raw)


def cmd_delete(registry: Registry, args: argparse.Namespace) -> None:
    registry.delete(args.name, if_match=args.if_match, purge=args.purge)
    print(f"{PROG}: {'purged' if args.purge else 'deleted'} {args.name}", file=sys.stderr)


def cmd_undelete(registry: Registry, args: argparse.Namespace) -> None:
    _print_json(registry.undelete(args.name, dry_run=args.dry_run).raw)


def cmd_list(registry: Registry, args: argparse.Namespace) -> None:
    labels = _labels(args.label, False)
    configs = registry.list_configs(
        prefix=args.prefix,
        labels=None if labels is KEEP else labels,
        uses_class=args.uses_class,
        show_deleted=args.show_deleted,
    )
    if args.json:
        _print_lines(c.raw for c in configs)
    else:
        rows = []
        for c in configs:
            labels_text = ",".join(f"{k}={v}" for k, v in c.labels.items())
            rows.append((c.name, c.version, _when(c.updated_at), labels_text, "deleted" if c.deleted else ""))
        _table(rows)


def cmd_validate(registry: Registry, args: argparse.Namespace) -> None:
    result = registry.validate(load_config_file(args.file))
    _print_json(result.raw)
    _warnings(result.warnings)


def cmd_watch(registry: Registry, args: argparse.Namespace) -> None:
    watch = registry.watch(args.name, alias=args.alias, after_version=args.after_version, load=False, wait=args.wait)
    for config in watch:
        _print_lines([config.config if args.format == "dict" else config.raw])


def cmd_events(registry: Registry, args: argparse.Namespace) -> None:
    feed = registry.events(args.after, name=args.name, types=args.type, follow=args.follow, wait=args.wait)
    _print_lines(event.raw for event in feed)


def cmd_alias_set(registry: Registry, args: argparse.Namespace) -> None:
    alias = registry.set_alias(
        args.name, args.alias, args.version, protected=args.protected, if_match=args.if_match, dry_run=args.dry_run
    )
    _print_json(alias.raw)


def cmd_alias_get(registry: Registry, args: argparse.Namespace) -> None:
    _print_json(registry.get_alias(args.name, args.alias).raw)


def cmd_alias_list(registry: Registry, args: argparse.Namespace) -> None:
    _table((a.alias, a.version, "protected" if a.protected else "", _when(a.updated_at), a.updated_by) for a in registry.aliases(args.name))


def cmd_alias_history(registry: Registry, args: argparse.Namespace) -> None:
    moves = registry.alias_history(args.name, args.alias)
    if args.json:
        _print_lines(m.raw for m in moves)
    else:
        _table(
            ("deleted" if m.version is None else m.version, m.previous_version, _when(m.moved_at), m.moved_by, "protected" if m.protected else "")
            for m in moves
        )


def cmd_alias_delete(registry: Registry, args: argparse.Namespace) -> None:
    registry.delete_alias(args.name, args.alias, if_match=args.if_match)
    print(f"{PROG}: deleted alias {args.alias} of {args.name}", file=sys.stderr)


def cmd_class_list(registry: Registry, args: argparse.Namespace) -> None:
    _table((c.id, "fromObserved" if c.from_observed else "", c.description) for c in registry.list_classes(prefix=args.prefix))


def cmd_class_register(registry: Registry, args: argparse.Namespace) -> None:
    if args.no_import:
        target: Any = args.identifier
        from_observed = bool(args.from_observed)
    else:
        target = resolve_identifier(args.identifier)
        if not isinstance(target, type):
            raise InputError(f"{args.identifier} is not a class")
        from_observed = args.from_observed
    registered = registry.register_class(target, from_observed=from_observed, description=args.description, exist_ok=args.exist_ok)
    _print_json(registered.raw)


# --- the parser ------------------------------------------------------------------------------


def _version_number(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a version number: {text!r}")
    return int(text)


def _wait_seconds(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 60:
        raise argparse.ArgumentTypeError("must be 1..60 seconds")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Get, push and watch PyTorch FX ConvertCustomConfigs in a convert-config registry.",
        epilog=f"The registry URL and token default to ${URL_ENV} and ${TOKEN_ENV} (prefer the "
        "variable to --token: a command line is visible to other users of the machine). "
        "Exit status: 0 done, 1 refused (the problem on stderr), 2 usage.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--url", help=f"the registry's base URL (default: ${URL_ENV})")
    parser.add_argument("--token", help=f"bearer token (default: ${TOKEN_ENV})")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    parser.add_argument("--retries", type=int, default=3, help="repeats after 429/503/lost connections (default 3)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every retry and reconnect")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, run: Callable[[Registry, argparse.Namespace], None], help: str, parent: Any = commands) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = parent.add_parser(name, help=help, description=help)
        sub.set_defaults(run=run)
        return sub

    def selector(sub: argparse.ArgumentParser) -> None:
        which = sub.add_mutually_exclusive_group()
        which.add_argument("--version", type=_version_number, help="that version (default: the latest)")
        which.add_argument("--alias", help="the version this alias names (e.g. production)")

    get = command("get", cmd_get, "Print a config: the resource (json), its to_dict (dict) or a Python snippet.")
    get.add_argument("name")
    selector(get)
    get.add_argument("--format", choices=["json", "dict", "python"], default="json")

    push = command("push", cmd_push, "Store FILE as the config's next version (created if new).")
    push.add_argument("name")
    push.add_argument("file", help="a to_dict JSON file (- for stdin) or a .py file defining convert_custom_config")
    push.add_argument("--if-match", metavar="VERSION", help="write only if VERSION is still the latest")
    push.add_argument("--description", help="the new description (default: keep it)")
    push.add_argument("--label", action="append", metavar="KEY=VALUE", help="the new labels, repeatable (default: keep them)")
    push.add_argument("--clear-labels", action="store_true", help="remove every label")
    push.add_argument("--dry-run", action="store_true", help="validate and show what would be stored; store nothing")

    history = command("history", cmd_history, "List every version, newest first: version, created, by, description.")
    history.add_argument("name")
    history.add_argument("--json", action="store_true", help="one JSON object per line")

    diff = command("diff", cmd_diff, "Show what changed from version FROM to TO (default: the latest).")
    diff.add_argument("name")
    diff.add_argument("from_version", metavar="FROM", type=_version_number)
    diff.add_argument("to_version", metavar="TO", type=_version_number, nargs="?")

    rollback = command("rollback", cmd_rollback, "Make a new version equal to VERSION (config, description, labels).")
    rollback.add_argument("name")
    rollback.add_argument("version", type=_version_number)
    rollback.add_argument("--if-match", metavar="VERSION", help="only if VERSION is still the latest")
    rollback.add_argument("--dry-run", action="store_true")

    delete = command("delete", cmd_delete, "Soft-delete a config (undelete restores it); --purge erases it (admin).")
    delete.add_argument("name")
    delete.add_argument("--if-match", metavar="VERSION")
    delete.add_argument("--purge", action="store_true")

    undelete = command("undelete", cmd_undelete, "Restore a soft-deleted config.")
    undelete.add_argument("name")
    undelete.add_argument("--dry-run", action="store_true")

    listing = command("list", cmd_list, "List configs: name, version, updated, labels.")
    listing.add_argument("--prefix")
    listing.add_argument("--label", action="append", metavar="KEY=VALUE", help="repeatable; all must match")
    listing.add_argument("--uses-class", metavar="IDENTIFIER")
    listing.add_argument("--show-deleted", action="store_true")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")

    validate = command("validate", cmd_validate, "Check FILE as a write would, storing nothing: its canonical form and warnings.")
    validate.add_argument("file", help="a to_dict JSON file (- for stdin) or a .py file defining convert_custom_config")

    watch = command("watch", cmd_watch, "Print the config now and each new version as it lands, one JSON line each.")
    watch.add_argument("name")
    watch.add_argument("--alias", help="follow what this alias names instead of the latest version")
    watch.add_argument("--after-version", type=_version_number, metavar="N", help="you hold N: print only what follows")
    watch.add_argument("--format", choices=["json", "dict"], default="json")
    watch.add_argument("--wait", type=_wait_seconds, default=30, help="seconds each long-poll is held (default 30)")

    events = command("events", cmd_events, "Print the change feed, one JSON event per line.")
    events.add_argument("--after", type=int, default=0, metavar="REVISION")
    events.add_argument("--name", help="only events of this config")
    events.add_argument("--type", action="append", help="only events of this type (repeatable)")
    events.add_argument("--follow", action="store_true", help="keep waiting for new events")
    events.add_argument("--wait", type=_wait_seconds, default=30)

    alias = commands.add_parser("alias", help="Set, get, list, delete aliases and see their history.", description="Aliases: named pointers to versions.")
    alias_commands = alias.add_subparsers(dest="alias_command", metavar="ALIAS_COMMAND", required=True)
    alias_set = command("set", cmd_alias_set, "Point ALIAS at VERSION (created if new).", alias_commands)
    alias_set.add_argument("name")
    alias_set.add_argument("alias")
    alias_set.add_argument("version", type=_version_number)
    protection = alias_set.add_mutually_exclusive_group()
    protection.add_argument("--protected", action="store_true", default=None, help="only admins may move it (admin)")
    protection.add_argument("--unprotected", dest="protected", action="store_false", help="drop the protection (admin)")
    alias_set.add_argument("--if-match", metavar="MOVES", help="only if the alias has moved MOVES times")
    alias_set.add_argument("--dry-run", action="store_true")
    for name, run, text in (
        ("get", cmd_alias_get, "Print an alias."),
        ("delete", cmd_alias_delete, "Delete an alias (its history stays)."),
    ):
        sub = command(name, run, text, alias_commands)
        sub.add_argument("name")
        sub.add_argument("alias")
        if name == "delete":
            sub.add_argument("--if-match", metavar="MOVES")
    alias_list = command("list", cmd_alias_list, "List a config's aliases: alias, version, protection, updated, by.", alias_commands)
    alias_list.add_argument("name")
    alias_history = command("history", cmd_alias_history, "Every move of an alias, newest first.", alias_commands)
    alias_history.add_argument("name")
    alias_history.add_argument("alias")
    alias_history.add_argument("--json", action="store_true", help="one JSON object per line")

    classes = commands.add_parser("class", help="List and register module classes.", description="Module classes configs may name.")
    class_commands = classes.add_subparsers(dest="class_command", metavar="CLASS_COMMAND", required=True)
    class_list = command("list", cmd_class_list, "List registered classes: identifier, fromObserved, description.", class_commands)
    class_list.add_argument("--prefix")
    register = command("register", cmd_class_register, "Register a class by a dotted path that imports it here.", class_commands)
    register.add_argument("identifier", help="e.g. my_pkg.quantized.CustomLinear")
    register.add_argument("--no-import", action="store_true", help="register IDENTIFIER as given, without importing it")
    register.add_argument("--from-observed", action="store_true", default=None, help="it defines from_observed (found by importing it otherwise)")
    register.add_argument("--description")
    register.add_argument("--exist-ok", action="store_true", help="an identifier already registered is not an error")
    return parser


def _report(error: BaseException) -> None:
    if isinstance(error, RegistryError):
        head = f"{error.status} {error.title}: {error.detail}" if error.status else error.detail
        print(f"{PROG}: error: {head}", file=sys.stderr)
        for entry in error.errors:
            place = entry.get("pointer") or entry.get("parameter") or ""
            print(f"  {place}: {entry.get('detail', '')}", file=sys.stderr)
    else:
        print(f"{PROG}: error: {error}", file=sys.stderr)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format=f"{PROG}: %(message)s")
    try:
        registry = Registry(args.url, args.token, timeout=args.timeout, retries=args.retries)
    except ValueError as error:
        parser.error(str(error))
    try:
        args.run(registry, args)
    except UsageError as error:
        parser.error(str(error))
    except (RegistryError, IdentifierImportError, UnregisteredClassError, InputError) as error:
        _report(error)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (| head): not an error of ours. Keep Python from complaining at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
