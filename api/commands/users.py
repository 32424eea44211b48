"""``beatgrid users add|list|set-role|set-password|disable|enable|token``: accounts.

Passwords are read from the terminal (never echoed) or, for scripts, from standard
input with ``--password-stdin``; they are never a command-line argument (other users
of the machine could read them in the process list).
"""

from __future__ import annotations

import argparse
import getpass
import sys

import pandas as pd

from beatgrid.api.commands._common import print_table
from beatgrid.api.commands._stores import add_store_target, open_target
from beatgrid.gis.errors import InputError

ROLES = ("viewer", "analyst", "planner", "admin")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``users …`` to the subcommands."""
    p = sub.add_parser("users", help="accounts and roles of a project (multi-user service)")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb, text in (("add", "create an account"), ("list", "list the accounts"),
                       ("set-role", "change an account's role"),
                       ("set-password", "change an account's password"),
                       ("disable", "disable an account (its tokens are revoked)"),
                       ("enable", "enable an account again"),
                       ("token", "print a new API key for scripts")):
        q = verbs.add_parser(verb, help=text)
        add_store_target(q)
        if verb != "list":
            q.add_argument("name", help="the user name")
        if verb in ("add", "set-role"):
            q.add_argument("--role" if verb == "add" else "role", choices=ROLES,
                           **({"required": True} if verb == "add" else {}),
                           help="viewer, analyst, planner or admin")
        if verb in ("add", "set-password"):
            q.add_argument("--password-stdin", action="store_true",
                           help="read the password from standard input (first line)")
            if verb == "add":
                q.add_argument("--no-password", action="store_true",
                               help="an account that signs in with API keys only")
        if verb == "token":
            q.add_argument("--label", default=None, help="what the key is for")
        q.set_defaults(func=run_users)


def read_password(args: argparse.Namespace) -> str:
    """The new password: from stdin with ``--password-stdin``, else asked twice."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InputError("no terminal to ask the password on",
                         fix="pass --password-stdin and write the password on standard input")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise InputError("the two passwords differ", fix="type the same password twice")
    return first


def run_users(args: argparse.Namespace) -> int:
    """``beatgrid users …``."""
    accounts = open_target(args).accounts
    if args.verb == "list":
        users = accounts.users()
        print_table(pd.DataFrame({"name": [u.name for u in users],
                                  "role": [u.role.name for u in users],
                                  "disabled": [u.disabled for u in users]}))
        return 0
    if args.verb == "add":
        password = None if args.no_password else read_password(args)
        user = accounts.add(args.name, role=args.role, password=password)
    elif args.verb == "set-role":
        user = accounts.set_role(args.name, args.role)
    elif args.verb == "set-password":
        user = accounts.set_password(args.name, read_password(args))
    elif args.verb == "disable":
        user = accounts.disable(args.name)
    elif args.verb == "enable":
        user = accounts.enable(args.name)
    else:
        print(accounts.issue_token(args.name, kind="api_key", label=args.label))
        return 0
    print(f"{user.name}: {user.role.name}{' (disabled)' if user.disabled else ''}")
    return 0
