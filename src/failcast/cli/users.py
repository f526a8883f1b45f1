"""`failcast user ...`: manage accounts straight in the database (no server needed)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from failcast.cli._app import app
from failcast.cli._client import fail
from failcast.cli.server import load_settings
from failcast.config import Settings
from failcast.db.transactions import session_scope

T = TypeVar("T")

user_app = typer.Typer(
    help="Manage user accounts and platform administrators.", no_args_is_help=True
)
app.add_typer(user_app, name="user")


def store_settings() -> Settings:
    """Settings of an existing store, or a clear exit saying where none was found."""
    settings = load_settings()
    if settings.is_sqlite:
        path = settings.data_dir / "failcast.db"
        if not path.is_file():
            fail(
                f"no Failcast database at {path.resolve()}: run this in the directory where"
                " `failcast up` runs (it keeps ./failcast-data), or set FAILCAST_DATA_DIR or"
                " FAILCAST_DATABASE_URL",
                code=2,
            )
    return settings


def run_on_store(call: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(call)`, with a store without Failcast's tables named as such."""
    try:
        return asyncio.run(call)
    except OperationalError as exc:
        if "no such table" in str(exc.orig) or "does not exist" in str(exc.orig):
            fail("the database has no Failcast schema yet: run `failcast db upgrade` first")
        raise


async def _create(
    settings: Settings, email: str, password: str, name: str, org_name: str, admin: bool
) -> tuple[int, int]:
    from failcast.auth import service
    from failcast.auth.passwords import Passwords
    from failcast.db.engine import Database
    from failcast.models import User

    database = Database(settings)
    try:
        async with session_scope(database) as session:
            user, org = await service.register(
                session,
                Passwords(settings),
                email=email,
                password=password,
                name=name,
                org_name=org_name,
            )
            if admin:
                stored = await session.get_one(User, user.id)
                stored.is_superuser = True
            return user.id, org.id
    finally:
        await database.dispose()


async def _set_superuser(settings: Settings, email: str, value: bool) -> bool:
    from failcast.db.engine import Database
    from failcast.models import User

    database = Database(settings)
    try:
        async with session_scope(database) as session:
            user = await session.scalar(select(User).where(User.email == email.lower()))
            if user is None:
                return False
            user.is_superuser = value
            return True
    finally:
        await database.dispose()


@user_app.command("create")
def create(
    email: Annotated[str, typer.Argument(help="The new user's email address.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="FAILCAST_NEW_USER_PASSWORD",
            help="Asked for when not given; at least 12 characters, not a common password.",
        ),
    ],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    org: Annotated[str, typer.Option(help="Name of the user's first organisation.")] = "",
    admin: Annotated[bool, typer.Option("--admin", help="Make a platform administrator.")] = False,
) -> None:
    """Create a user and their organisation (they own it)."""
    from failcast.errors import Conflict, ValidationFailed

    settings = store_settings()
    try:
        user_id, org_id = run_on_store(
            _create(
                settings,
                email,
                password,
                name,
                org or f"{email.split('@')[0]}'s organisation",
                admin,
            )
        )
    except ValidationFailed as exc:
        fail("; ".join(f"password {p['msg']}" for p in exc.detail))
    except Conflict as exc:
        fail(str(exc.detail))
    role = "platform administrator" if admin else "user"
    typer.echo(f"created {role} {email.lower()} (id {user_id}) owning organisation {org_id}")


@user_app.command("promote")
def promote(email: Annotated[str, typer.Argument(help="Email of an existing user.")]) -> None:
    """Make an existing user a platform administrator."""
    if not run_on_store(_set_superuser(store_settings(), email, True)):
        fail(f"no user with email {email.lower()}")
    typer.echo(f"{email.lower()} is now a platform administrator")


@user_app.command("demote")
def demote(email: Annotated[str, typer.Argument(help="Email of an existing user.")]) -> None:
    """Take platform administration away from a user."""
    if not run_on_store(_set_superuser(store_settings(), email, False)):
        fail(f"no user with email {email.lower()}")
    typer.echo(f"{email.lower()} is no longer a platform administrator")
