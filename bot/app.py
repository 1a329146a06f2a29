"""The composition root: the one place that knows every part and wires them, in order.

settings → database → resources (the service data, the registry client) →
engine (with every feature's dialogs) → adapters → background services.
Nothing else constructs or looks up the running bot: operator commands get it
from a `Launch`, the server and the background services are handed it.

A feature is declared once, in `FEATURES` below (see docs/architecture.md,
"Adding a feature").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from bot import cli
from bot.background import Background
from bot.commands import attendance, booking, broadcast, console, core, stats, status
from bot.console import announcements as announcements_page
from bot.console import appointments as appointments_page
from bot.console import audit as audit_page
from bot.console import cases as cases_page
from bot.console import dashboard as dashboard_page
from bot.console import statuses as statuses_page
from bot.datafiles import DataProblems, Loader, load_all
from bot.engine import DialogRegistry, Engine, Runtime
from bot.engine.runtime import system_clock
from bot.metrics import Metrics
from bot.ports import Adapter, Job
from bot.resources import RESOURCE_NAMES, Resources
from bot.secret_key import ensure_secret_key
from bot.services import demo_people, retention
from bot.services.booking import appointments
from bot.services.booking import demo as booking_demo
from bot.services.booking import jobs as booking_jobs
from bot.services.booking.loader import load_offices
from bot.services.broadcast import service as broadcast_service
from bot.services.cases import notify as cases_notify
from bot.services.cases import service as cases_service
from bot.services.cases.data import load_cases
from bot.services.eligibility.loader import load_eligibility
from bot.services.personal_data import PersonalData
from bot.services.status import demo as status_demo
from bot.services.status import follows, poller
from bot.services.status.registry import RegistryClient
from bot.settings import Settings
from bot.wiring import App, Feature, Launch
from dialogs.about import about
from dialogs.announcements import announcements
from dialogs.booking import booking_dialog
from dialogs.cases import cases
from dialogs.console_link import console_link
from dialogs.contacts import contacts
from dialogs.eligibility import eligibility
from dialogs.language import language
from dialogs.menu import menu
from dialogs.mydata import mydata
from dialogs.offices import offices_dialog
from dialogs.privacy import privacy_notice
from dialogs.staff_cases import staff_cases
from dialogs.status import status as status_dialog
from storage.db import Database
from storage.migrate import upgrade_async

log = logging.getLogger(__name__)

__all__ = ["FEATURES", "App", "build_app", "load_resources", "main"]


async def status_poller(bg: Background) -> Job | None:
    """Followed applications re-checked against the registry (only with REGISTRY_URL)."""
    return poller.registry_poller(
        bg.db,
        Resources.of(bg.runtime.resources).registry,
        clock=bg.clock,
        default_locale=bg.settings.default_locale,
    )


# -- the feature manifest ------------------------------------------------------------
# Each feature, once: its dialogs, the parts of DATA_DIR it reads, its background
# services, operator commands, demo seeders, console pages, what it keeps about a
# person and its gettext catalog (fields: bot.wiring.Feature). Order matters only for
# the commands' listing in --help and the order services start in.
FEATURES: tuple[Feature, ...] = (
    Feature(
        "core",
        domain="core",
        dialogs=(menu, language, privacy_notice, contacts, about, mydata),
        services=(retention.retention_schedule,),
        commands=(core.migrate, core.chat, core.run, core.check_data, core.demo_data, stats.stats),
        seeders=(demo_people.seed_people,),
    ),
    Feature(
        "eligibility",
        domain="eligibility",
        dialogs=(eligibility,),
        loaders={"eligibility": load_eligibility},
    ),
    Feature(
        "status",
        domain="status",
        dialogs=(status_dialog,),
        services=(status_poller,),
        commands=(status.import_applications,),
        personal_data=lambda resources: follows.PERSONAL_DATA,
        seeders=(status_demo.seed_applications,),
        console_pages=(statuses_page.CONSOLE_PAGE,),
    ),
    Feature(
        "booking",
        domain="booking",
        dialogs=(booking_dialog, offices_dialog),
        loaders={"offices": load_offices},
        services=(booking_jobs.booking_jobs,),
        personal_data=lambda resources: appointments.personal_data(resources.offices),
        commands=(booking.appointments, attendance.no_show),
        seeders=(booking_demo.booking_demo,),
        console_pages=(appointments_page.CONSOLE_PAGE,),
    ),
    Feature(
        "announcements",
        domain="staff",
        dialogs=(announcements,),
        services=(broadcast_service.announcements,),
        settle_hooks=(broadcast_service.finish_announcements,),
        commands=(broadcast.broadcast,),
        console_pages=(announcements_page.CONSOLE_PAGE,),
    ),
    Feature(
        "cases",
        domain="cases",
        dialogs=(cases, staff_cases),
        loaders={"cases": load_cases},
        services=(cases_notify.staff_posts,),
        personal_data=lambda resources: cases_service.PERSONAL_DATA,
        console_pages=(cases_page.CONSOLE_PAGE,),
    ),
    Feature(
        "console",
        domain="console",
        dialogs=(console_link,),
        commands=(console.console_link, console.console),
        console_pages=(dashboard_page.CONSOLE_PAGE, audit_page.CONSOLE_PAGE),
    ),
)


def data_loaders(features: Sequence[Feature] = FEATURES) -> dict[str, Loader]:
    """Every feature's data loaders, by the `Resources` field each one fills."""
    return {name: load for feature in features for name, load in feature.loaders.items()}


def load_resources(settings: Settings, features: Sequence[Feature] = FEATURES) -> Resources:
    """Service data from DATA_DIR (programmes, offices …), validated once at start.

    Invalid data stops the start with every problem listed (`DataProblems`):
    a bot that answers from half-read rules would mislead people.
    """
    loaders = data_loaders(features)
    unknown = set(loaders) - RESOURCE_NAMES
    if unknown:  # a programming error, not a data one: say which loader
        raise TypeError(f"data loaders for no field of Resources: {sorted(unknown)}")
    parts, errors = load_all(settings.data_dir, loaders)
    if errors:
        raise DataProblems(errors)
    return Resources(**parts)


def adapters_for(settings: Settings) -> tuple[Adapter[App], ...]:
    """The messenger adapters these settings configure (a token each)."""
    adapters: list[Adapter[App]] = []
    # Imported only when configured: a command that runs no adapter loads no SDK.
    if settings.telegram_token:
        from handlers.telegram import telegram

        adapters.append(telegram)
    if settings.viber_token:
        from handlers.viber import viber_adapter

        adapters.append(viber_adapter)
    return tuple(adapters)


async def build_app(
    settings: Settings,
    *,
    migrate: bool = True,
    clock: Callable[[], datetime] = system_clock,
    features: Sequence[Feature] = FEATURES,
) -> App:
    # Bad service data stops the start before anything is written (key file, migrations).
    resources = load_resources(settings, features)
    settings = ensure_secret_key(settings)
    if migrate:
        await upgrade_async(settings.database_url)
    db = Database(settings.database_url, count_statements=settings.db_count_statements)
    if settings.registry_url:
        resources = replace(resources, registry=RegistryClient(settings.registry_url, clock=clock))
    metrics = Metrics()
    runtime = Runtime(
        settings=settings,
        clock=clock,
        resources=resources,
        personal_data=PersonalData.merge(f.personal_data(resources) for f in features),
    )
    dialogs = DialogRegistry()
    for feature in features:
        dialogs.register(*feature.dialogs)
    engine = Engine(db, runtime, metrics, dialogs=dialogs)
    return App(
        settings=settings,
        db=db,
        runtime=runtime,
        engine=engine,
        metrics=metrics,
        features=tuple(features),
        adapters=adapters_for(settings),
    )


def launch(settings: Settings) -> Launch:
    return Launch(settings=settings, features=FEATURES, build=build_app)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bot …`: every feature's commands."""
    commands = [found for feature in FEATURES for found in feature.commands]
    return cli.run(commands, launch, argv)
