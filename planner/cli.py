"""Commands: `flask --app wsgi create-admin EMAIL`, `… demo` and `… refresh-funnel`."""

from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import func, select

from planner.accounts import services as accounts
from planner.accounts.models import User
from planner.core.errors import InvalidInput
from planner.core.extensions import db
from planner.core.unit_of_work import unit_of_work


def register_commands(app: Flask) -> None:
    from planner import transfer

    app.cli.add_command(create_admin)
    app.cli.add_command(demo)
    app.cli.add_command(refresh_funnel)
    transfer.register_commands(app)


@click.command("create-admin")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when not given.")
@click.option("--name", default="Admin", show_default=True, help="Display name.")
@click.option("--locale", type=click.Choice(["zh_CN", "en"]), default=None,
              help="Language of the admin's pages and mail; without it they follow the browser.")
def create_admin(email: str, password: str, name: str, locale: str | None) -> None:
    """Create a network admin, or make an existing account one (and set its password)."""
    try:
        with unit_of_work():  # the command is the edge: it commits what the services flushed
            message = _make_admin(email, password, name, locale)
    except InvalidInput as error:
        raise click.BadParameter(" ".join(error.fields.get("password", [error.message])),
                                 param_hint="--password") from None
    click.echo(message)


def _make_admin(email: str, password: str, name: str, locale: str | None) -> str:
    user = accounts.find_user_by_email(email)
    if user is None:
        profile = accounts.Profile(display_name=name, phone=None, locale=locale,
                                   timezone="Asia/Shanghai")
        user = accounts.sign_up(email, password, profile, is_admin=True)
        return f"Created network admin {user.email}."
    user.is_admin = True
    accounts.set_password(user, password)
    return f"{user.email} is now a network admin; password updated."


@click.command("demo")
def demo() -> None:
    """Load a demo network into an empty database and print the demo accounts."""
    from planner.demo import DEMO_PASSWORD, load_demo

    if db.session.scalar(select(func.count()).select_from(User)):
        click.echo("The database already has data; demo data is only loaded into an empty one.")
        return
    with unit_of_work():
        made = load_demo()
    for role, email in made:
        click.echo(f"  {role:<28} {email:<32} password: {DEMO_PASSWORD}")


@click.command("refresh-funnel")
@click.option("--rebuild", is_flag=True,
              help="Recount every visitor and every meetup (after loading rows by hand).")
def refresh_funnel(rebuild: bool) -> None:
    """Bring the funnel's kept totals up to date (cron, every few minutes): branch and network
    funnel pages would otherwise do it on their first read."""
    from planner.funnel import rollups

    if rebuild:
        rollups.rebuild_reach(db.session())
        rollups.mark_all_stale(db.session())
    refreshed = rollups.refresh_meetup_figures()
    db.session.commit()
    click.echo(f"Refreshed {refreshed} stale meetup marks.")
