"""Walk every step of every dialog through the real engine, for checks that hold on every screen.

    screens = await walk(app, locale="uk", staff=True)
    for screen in screens:
        screen.dialog, screen.step, screen.locale, screen.staff, screen.replies, screen.path
    assert missed_steps(app, screens, staff=True) == {}

Messenger-agnostic: it drives `app.engine` with neutral `Incoming` events, the way an
adapter does, and records every answer. A renderer test then sends each `screen.replies`
through its messenger's renderer to that messenger's double.

How it explores: one person (onboarded in `locale`, listed as staff when `staff`) starts
at the main menu. Every distinct screen is expanded by pressing each of its buttons,
typing a sample answer where the step takes typing (`SAMPLES`), once per step an answer
it cannot understand (the re-prompt screen, not expanded further), and sharing a
location or phone where one is asked for. Before each action the person's dialog state
is put back to the screen's, so every button of a screen is pressed from that screen;
depth first, so what a screen shows (a held time, a draft) is still what the database
holds when its buttons are pressed.

A screen with buttons of a new kind for its step (payloads with digits blurred) is
always expanded; other variants (booking days of every office look alike) only
`per_step` times per step, except the steps in `EXPAND_ALL`. Of buttons alike but for
digits (days, times, oblasts) `per_shape` per screen are pressed. Global buttons (Menu,
Back, Help …) lead to the same places from everywhere: each is pressed once per walk.
Every answer seen is returned, expanded or not.

Side effects are real (bookings held, applications followed, announcements created, data
erased): a deleted person is onboarded again before the next action.

`missed_steps` lists the registered steps the walk never showed. A new step needs either a
button that leads to it or a sample answer here; `UNREACHABLE` names the few that cannot
be reached on purpose.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import pickle
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.app import App, build_app
from bot.engine import Incoming, Kind, Reply, Request
from bot.engine.globals import COMMANDS
from bot.services import privacy
from bot.services.cases.service import open_case
from storage.models import Person
from storage.repositories import DialogStates, People, StoredState
from tests.status_support import import_csv

ROOT = Path(__file__).resolve().parent.parent
PLATFORM = "walk"
DEMO_APPLICATIONS = (
    "number,birth_date,status,updated_at,note\n"
    "VPO-2026-000123,1984-03-15,in_review,2026-11-20T10:00:00+02:00,\n"
    "VPO-2026-000124,1979-07-02,needs_documents,2026-11-18T14:30:00+02:00,"
    "Принесіть довідку банку про реквізити рахунку (IBAN).\n"
)
KYIV = (50.4501, 30.5234)
NOT_UNDERSTOOD = "ъъъ ???"

#: what a person may type at a step, besides pressing its buttons
SAMPLES: dict[tuple[str, str], tuple[str, ...]] = {
    ("status", "number"): ("VPO-2026-000123", "vpo 2026 000124"),
    # the right birth date, and a wrong one (the "not found" screen)
    ("status", "birth"): ("15.03.1984", "02.07.1979", "01.01.1990"),
    # eligibility questions typed: an age or an amount, a child's birth date
    ("eligibility", "q0"): ("67", "05.03.2020"),
    ("eligibility", "q1"): ("67", "05.03.2020"),
    ("staff", "text_uk"): ("Завтра центр працює до 16:00.",),
    ("staff", "text_en"): ("Tomorrow the centre is open until 16:00.",),
    ("staff", "region"): ("UA32000000000030281",),
    ("staff", "when"): ("25.12.2026 10:00",),
    ("cases", "question"): ("Мені відмовили в субсидії. Що робити?",),
    ("cases", "add"): ("Додаю: відмову отримала 20 листопада.",),
    ("staff_cases", "reply"): ("Добрий день! Подайте скаргу протягом 30 днів.",),
}

#: steps whose screens differ in kind (one per question): every distinct one is expanded
EXPAND_ALL = frozenset({("eligibility", "q0"), ("eligibility", "q1")})

#: steps no walk can show, and why
UNREACHABLE: dict[tuple[str, str], str] = {
    ("eligibility", "where"): "shown only while no booking dialog is registered",
    ("staff", "night"): "shown only for Send now between 22:00 and 08:00 Kyiv time",
    **{
        ("cases", f"r{n}"): "opened only by the rating buttons of the message sent after a "
        "case is closed (tests/test_cases_dialog.py)"
        for n in range(1, 6)
    },
}


@dataclass(frozen=True)
class Screen:
    """One answer of the bot: what the person saw after `path`, and where they are then.

    `dialog` and `step` are empty after the person's data was erased (the goodbye).
    """

    dialog: str
    step: str
    locale: str
    staff: bool
    replies: tuple[Reply, ...]
    #: the actions from the main menu that led here ("press m:book", "type …")
    path: tuple[str, ...] = ()


def _same(a: StoredState, b: StoredState) -> bool:
    return (a.dialog, a.step, a.data, a.history, a.offered, a.failures) == (
        b.dialog,
        b.step,
        b.data,
        b.history,
        b.offered,
        b.failures,
    )


@dataclass
class _Node:
    state: StoredState
    path: tuple[str, ...]
    replies: tuple[Reply, ...]


@dataclass
class _Walker:
    app: App
    locale: str
    staff: bool
    per_step: int
    per_shape: int
    user_id: str
    screens: list[Screen] = field(default_factory=list)
    _answers: set[tuple[str, str, tuple[Reply, ...]]] = field(default_factory=set)
    _expanded: dict[tuple[str, str], int] = field(default_factory=dict)
    _keys: set[tuple[str, str, frozenset[str], str]] = field(default_factory=set)
    _shapes: set[tuple[tuple[str, str], frozenset[str]]] = field(default_factory=set)
    _globals_pressed: set[str] = field(default_factory=set)
    _not_understood: set[tuple[str, str]] = field(default_factory=set)
    #: the person's state as last read, while nothing else changed it (saves a write)
    _known: StoredState | None = None

    def event(self, kind: Kind, **values: object) -> Incoming:
        return Incoming(PLATFORM, self.user_id, kind, **values)  # type: ignore[arg-type]

    async def send(self, event: Incoming) -> list[Reply]:
        return await self.app.engine.handle(event)

    async def person(self) -> tuple[Person | None, StoredState | None]:
        async with self.app.db.sessions() as session:  # a read: no writer's turn needed
            person = await People(session).find(PLATFORM, self.user_id)
            state = await DialogStates(session).load(person.id) if person else None
            usable = person is not None and person.locale == self.locale
            self._known = state if usable and person and not privacy.pending(person) else None
            return person, state

    async def onboard(self, *, record: bool = False) -> None:
        """First contact to the main menu: /start, the language, the privacy notice."""
        steps = [
            ("type '/start'", self.event(Kind.COMMAND, text="/start")),
            (f"press lang:{self.locale}", self.event(Kind.BUTTON, payload=f"lang:{self.locale}")),
            ("press agree", self.event(Kind.BUTTON, payload="agree")),
        ]
        path: tuple[str, ...] = ()
        for label, event in steps:
            replies = await self.send(event)
            _, state = await self.person()
            assert state is not None
            path = (*path, label)
            if record:
                self.record(state, replies, path)
        person, state = await self.person()
        assert person is not None and person.locale == self.locale, "onboarding changed"
        assert state is not None and state.dialog == "menu", f"onboarding ended in {state}"

    async def restore(self, state: StoredState) -> None:
        """Put the person back on a screen: onboarded in the walk's language, in `state`."""
        if self._known is not None and _same(self._known, state):
            return  # just read there: the first action on a screen just reached
        self._known = None
        for _ in range(2):
            async with self.app.db.transaction() as session:
                person = await People(session).find(PLATFORM, self.user_id)
                if (
                    person is not None
                    and person.locale is not None
                    and not privacy.pending(person)
                ):
                    person.locale = self.locale
                    states = DialogStates(session)
                    current = await states.load(person.id)
                    assert current is not None
                    await states.save(person.id, replace(state, version=current.version))
                    return
            await self.onboard()  # erased on the previous path
        raise AssertionError("the walking person cannot be onboarded again")

    def actions(self, node: _Node) -> list[tuple[str, Incoming]]:
        actions: list[tuple[str, Incoming]] = []
        shapes: dict[str, int] = {}
        for reply in node.replies:
            for payload in reply.payloads:
                if payload.startswith("g:"):
                    if payload in self._globals_pressed:
                        continue
                    self._globals_pressed.add(payload)
                shape = re.sub(r"\d+", "#", payload)
                shapes[shape] = shapes.get(shape, 0) + 1
                if shapes[shape] > self.per_shape:
                    continue
                actions.append((f"press {payload}", self.event(Kind.BUTTON, payload=payload)))
        requests = {reply.request for reply in node.replies if reply.request is not None}
        if Request.LOCATION in requests:
            lat, lon = KYIV
            event = self.event(Kind.LOCATION, latitude=lat, longitude=lon)
            actions.append(("share location", event))
        if Request.PHONE in requests:
            actions.append(("share phone", self.event(Kind.CONTACT, phone="+380501234567")))
        if not node.path:  # commands work from anywhere: typed once, from the first screen
            for command in COMMANDS:
                actions.append((f"type {command!r}", self.event(Kind.COMMAND, text=command)))
        step = (node.state.dialog, node.state.step)
        answers = {p for reply in node.replies for p in reply.payloads if not p.startswith("g:")}
        # sample answers where typing is the way to answer (a screen of choices is pressed)
        typed = SAMPLES.get(step, ()) if len(answers) <= 1 else ()
        if step not in self._not_understood:
            self._not_understood.add(step)
            typed = (*typed, NOT_UNDERSTOOD)
        for text in typed:
            actions.append((f"type {text!r}", self.event(Kind.TEXT, text=text)))
        return actions

    def record(self, state: StoredState, replies: list[Reply], path: tuple[str, ...]) -> None:
        answer = (state.dialog, state.step, tuple(replies))
        if answer in self._answers:
            return
        self._answers.add(answer)
        self.screens.append(
            Screen(state.dialog, state.step, self.locale, self.staff, tuple(replies), path)
        )

    def worth_expanding(self, state: StoredState, replies: list[Reply]) -> bool:
        payloads = [p for reply in replies for p in reply.payloads]
        # the question too: typed-answer questions have the same buttons
        question = replies[-1].full_text() if replies else ""
        key = (state.dialog, state.step, frozenset(payloads), question)
        if key in self._keys:
            return False
        self._keys.add(key)
        step = (state.dialog, state.step)
        shapes = (step, frozenset(re.sub(r"\d+", "#", p) for p in payloads))
        new_shape = shapes not in self._shapes
        self._shapes.add(shapes)
        often = self._expanded.get(step, 0) >= self.per_step
        if often and not new_shape and step not in EXPAND_ALL:
            return False
        self._expanded[step] = self._expanded.get(step, 0) + 1
        return True

    async def run(self) -> list[Screen]:
        await self.onboard(record=True)
        _, state = await self.person()
        assert state is not None
        replies = self.screens[-1].replies
        self.worth_expanding(state, list(replies))
        await self.expand(_Node(state, (), replies))
        return self.screens

    async def expand(self, node: _Node) -> None:
        """Depth first: a screen's buttons are pressed right after it was reached, while
        what it shows (a held time, a draft) is still what the database holds."""
        for label, event in self.actions(node):
            await self.restore(node.state)
            replies = await self.send(event)
            _, after = await self.person()
            if after is None:  # erased: the goodbye is the last screen of this path
                after = StoredState(dialog="", step="")
            path = (*node.path, label)
            self.record(after, replies, path)
            if after.failures > node.state.failures:
                continue  # not understood: the same question again, already expanded
            if after.dialog and self.worth_expanding(after, replies):
                await self.expand(_Node(after, path, tuple(replies)))


async def prepare(app: App) -> None:
    """Data the walk needs to reach every step: applications to look up, and people to
    announce to (one per platform and language, one of them in a region)."""
    report = await import_csv(app, DEMO_APPLICATIONS)
    assert not report.problems, report.problems
    # One office full, as in the demo: the waiting list (join, leave) is walked too.
    from bot.services.booking.appointments import block_seats
    from bot.services.booking.reminders import catalog_of

    async with app.db.transaction() as session:
        await block_seats(
            session, catalog_of(app.runtime), "pavlohrad-cnap", app.runtime.now(), 15
        )
    async with app.db.transaction() as session:
        # A question waiting for staff: the staff walk takes, answers and closes it.
        asker, _ = await People(session).get_or_register("telegram", "900000002")
        asker.locale = "uk"
        privacy.accept(asker, app.runtime.now())
        await open_case(
            session, asker, topic="benefits", text="Чи маю я право?", now=app.runtime.now()
        )
    async with app.db.transaction() as session:
        people = People(session)
        for platform, user_id, locale, region in (
            ("telegram", "900000001", "uk", "UA32000000000030281"),
            ("viber", "walk-audience=", "en", None),
        ):
            person, _ = await people.get_or_register(platform, user_id)
            person.locale, person.region = locale, region
            privacy.accept(person, app.runtime.now())


async def walk(
    app: App,
    *,
    locale: str,
    staff: bool,
    per_step: int = 2,
    per_shape: int = 3,
    user_id: str | None = None,
) -> list[Screen]:
    """Every answer the engine gives while one person explores all dialogs (see the module doc).

    Call `prepare(app)` once per database first. `staff` lists the walking person in
    the app's STAFF_IDS for the walk.
    """
    user_id = user_id or f"walker-{locale}-{'staff' if staff else 'citizen'}"
    if staff:
        settings = app.runtime.settings
        settings.staff_ids = settings.staff_ids | {f"{PLATFORM}:{user_id}"}
    walker = _Walker(app, locale, staff, per_step, per_shape, user_id)
    return await walker.run()


def missed_steps(app: App, screens: list[Screen], *, staff: bool) -> dict[tuple[str, str], str]:
    """Registered steps no screen showed (besides `UNREACHABLE`), with a hint each."""
    dialogs = app.engine.dialogs
    shown = {(screen.dialog, screen.step) for screen in screens}
    missed: dict[tuple[str, str], str] = {}
    for name in dialogs.names():
        dialog = dialogs.get(name)
        assert dialog is not None
        if dialog.staff_only and not staff:
            continue
        for step in dialog.steps:
            if (name, step) not in shown and (name, step) not in UNREACHABLE:
                missed[(name, step)] = "add a button or a sample answer (tests/dialog_walk.py)"
    return missed


_walked: dict[tuple[str, bool], list[Screen]] = {}
#: walks under way in other processes, with the file each writes its screens to
_elsewhere: dict[tuple[str, bool], tuple[subprocess.Popen[bytes], Path]] = {}
WALKS = [(locale, staff) for locale in ("uk", "en") for staff in (False, True)]


async def walk_once(app: App, *, locale: str, staff: bool) -> list[Screen]:
    """`walk`, once per (locale, staff) in a test run: later calls get the same screens.

    They would be identical anyway (the shipped data, the tests' fixed clock), and a
    walk takes seconds. `app` must be fresh (nothing stored) the first time.

    The first call starts the other three walks in processes of their own (each on its
    own fresh database, with the same settings and clock), so on a machine with more
    than one CPU they are done by the time a test asks for them. A walk whose process
    failed is walked here instead.
    """
    key = (locale, staff)
    if not _walked and not _elsewhere:
        for other in WALKS:
            if other != key:
                _elsewhere[other] = _start_elsewhere(*other)
    if key not in _walked and key in _elsewhere:
        process, out = _elsewhere.pop(key)
        try:
            if await asyncio.to_thread(process.wait) == 0:
                _walked[key] = pickle.loads(out.read_bytes())
        finally:
            out.unlink(missing_ok=True)
    if key not in _walked:
        await prepare(app)
        _walked[key] = await walk(app, locale=locale, staff=staff)
    return _walked[key]


def _start_elsewhere(locale: str, staff: bool) -> tuple[subprocess.Popen[bytes], Path]:
    handle, name = tempfile.mkstemp(prefix=f"walk-{locale}-{staff}-", suffix=".pickle")
    os.close(handle)
    args = [sys.executable, "-m", "tests.dialog_walk", locale, "staff" if staff else "", name]
    process = subprocess.Popen(
        args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return process, Path(name)


@atexit.register
def _stop_elsewhere() -> None:
    """Walks no test asked for (a part of the suite was run) end with the run."""
    for process, out in _elsewhere.values():
        process.kill()
        process.wait()
        out.unlink(missing_ok=True)


async def _walk_alone(locale: str, staff: bool) -> list[Screen]:
    """One walk as the tests' `sqlite_app` would take it: a fresh database, the same clock."""
    from storage.migrate import upgrade_async
    from tests.conftest import Clock, make_settings

    with tempfile.TemporaryDirectory(prefix="walk-") as folder:
        url = f"sqlite+aiosqlite:///{folder}/bot.sqlite3"
        await upgrade_async(url)
        app = await build_app(make_settings(url), migrate=False, clock=Clock())
        try:
            await prepare(app)
            return await walk(app, locale=locale, staff=staff)
        finally:
            await app.close()


if __name__ == "__main__":
    # By its module's name, so the pickled screens are `tests.dialog_walk.Screen`s.
    from tests import dialog_walk

    screens = asyncio.run(dialog_walk._walk_alone(sys.argv[1], bool(sys.argv[2])))
    Path(sys.argv[3]).write_bytes(pickle.dumps(screens))
