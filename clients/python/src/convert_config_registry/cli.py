"""The command line: ``convert-config-registry COMMAND ...`` (or ``python -m convert_config_registry``).

Exit status: 0 done; 1 the registry (or the local Python side) refused, with the problem's
detail and pointers on stderr; 2 the command line itself is wrong (argparse's usage message).
Results go to stdout (JSON, one object per line for lists and streams), messages to stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any, Callable, Optional, Sequence

from . import __version__
from .client import TOKEN_ENV, URL_ENV, Registry
from .commands import (
    PROG,
    InputError,
    UsageError,
    cmd_alias_delete,
    cmd_alias_get,
    cmd_alias_history,
    cmd_alias_list,
    cmd_alias_set,
    cmd_class_list,
    cmd_class_register,
    cmd_delete,
    cmd_diff,
    cmd_events,
    cmd_get,
    cmd_history,
    cmd_list,
    cmd_push,
    cmd_rollback,
    cmd_undelete,
    cmd_validate,
    cmd_watch,
)
from .errors import IdentifierImportError, RegistryError, UnregisteredClassError


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
