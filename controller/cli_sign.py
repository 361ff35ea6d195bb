"""`golive sign approval|review|exception FILE --key KEY`: the person a sign-off names signs it
with their SSH key (ssh-keygen -Y sign), and golive writes the signature into the manifest."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from controller.check.sign import Person, SignError, sign_manifest, ssh_sign

sign_app = typer.Typer(
    help="Sign an approval, a review or an exception with your SSH key (docs/signoffs.md).",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help, as the rest of the CLI (controller/cli.py, PLAIN_HELP)
)
err = Console(stderr=True, highlight=False)
EXIT_USAGE = 2
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

FileArg = Annotated[
    Path, typer.Argument(help="The manifest; the signed record is written into it.")
]
KeyOpt = Annotated[
    str,
    typer.Option(
        "--key",
        "-k",
        help="Your SSH private key, or its .pub with the private key in ssh-agent (ssh-keygen "
        "-Y sign -f KEY).",
    ),
]
NameOpt = Annotated[str | None, typer.Option("--name", help="Your first and last name.")]
EmailOpt = Annotated[
    str | None, typer.Option("--email", help="Your email (as in the allowed signers).")
]
AgentOpt = Annotated[
    str | None, typer.Option("--agent", help="The AgentDeployment (when the file has several).")
]
AtOpt = Annotated[
    str | None, typer.Option("--at", help="The date, YYYY-MM-DD (default today, UTC).")
]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write here instead of FILE ('-': stdout).")
]


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(EXIT_USAGE)


def _date(at: str | None) -> str:
    if at is None:
        return datetime.now(UTC).strftime("%Y-%m-%d")
    try:
        if not DATE.match(at):
            raise ValueError
        datetime.strptime(at, "%Y-%m-%d")
    except ValueError:
        raise _fail(f"--at: expected a date YYYY-MM-DD, got {at!r}") from None
    return at


def _person(name: str | None, email: str | None, required: bool) -> Person | None:
    if name is None and email is None and not required:
        return None
    if not name or len(name.split()) < 2:
        raise _fail(f"--name: expected your first and last name, got {name!r}")
    if not email or not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
        raise _fail(f"--email: expected an email address, got {email!r}")
    return Person(name.strip(), email.strip())


def _run(
    file: Path,
    kind: str,
    key: str,
    name: str | None,
    signer: Person | None,
    role: str | None,
    at: str,
    output: Path | None,
) -> None:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise _fail(f"{file}: {error.strerror or error}") from None
    try:
        signed = sign_manifest(
            text,
            str(file),
            kind,
            name=name,
            signer=signer,
            role=role,
            at=at,
            sign=lambda payload: ssh_sign(payload, key),
        )
    except SignError as error:
        raise _fail(str(error)) from None
    if output is not None and str(output) == "-":
        sys.stdout.write(signed)
        return
    target = output or file
    target.write_text(signed, encoding="utf-8")
    err.print(f"signed the {kind} in {target}")


@sign_app.command("approval")
def approval_command(
    file: FileArg,
    key: KeyOpt,
    name: NameOpt = None,
    email: EmailOpt = None,
    agent: AgentOpt = None,
    role: Annotated[str | None, typer.Option("--role", help="e.g. compliance.")] = None,
    at: AtOpt = None,
    output: OutputOpt = None,
) -> None:
    """Approve an AgentDeployment: add (or renew) your approval and sign it."""
    _run(file, "approval", key, agent, _person(name, email, True), role, _date(at), output)


@sign_app.command("review")
def review_command(
    file: FileArg,
    key: KeyOpt,
    name: NameOpt = None,
    email: EmailOpt = None,
    agent: AgentOpt = None,
    at: AtOpt = None,
    output: OutputOpt = None,
) -> None:
    """Record that you reviewed an AgentDeployment's checklist (spec.governance.lastReview)."""
    _run(file, "review", key, agent, _person(name, email, True), None, _date(at), output)


@sign_app.command("exception")
def exception_command(
    file: FileArg,
    key: KeyOpt,
    exception: Annotated[
        str | None,
        typer.Option("--exception", help="The AgentException (when the file has several)."),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Default: the exception's approver.")
    ] = None,
    email: Annotated[
        str | None, typer.Option("--email", help="Default: the exception's approver.")
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Sign an AgentException as its approver."""
    _run(file, "exception", key, exception, _person(name, email, False), None, "", output)
