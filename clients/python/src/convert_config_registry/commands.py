"""What each command of the command line does (cli.py parses; these run), and its FILE input.

Results go to stdout (JSON; one compact object per line for lists and streams; tab-separated
columns for the human-readable lists), messages and warnings to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import sys
from typing import Any, Dict, Iterable, List, Optional, Sequence

from .client import KEEP, Registry
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
