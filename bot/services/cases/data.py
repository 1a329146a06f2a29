"""DATA_DIR/cases/cases.yaml: working hours, the typical answer time, canned answers.

A data folder without `cases/` uses the shipped file: older deployments keep
starting, and the feature still tells people something true.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.datafiles import DataError, read_yaml
from bot.services.eligibility.text import Text
from bot.settings import DEMO_DATA_DIR

FOLDER = "cases"
FILE = "cases.yaml"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class WorkingHours(_Model):
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(min_length=1)
    opens: dt.time = Field(alias="from")
    closes: dt.time = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHours:
        if self.closes <= self.opens:
            raise ValueError("'to' must be later than 'from'")
        return self

    def weekdays(self) -> set[int]:
        return {DAYS.index(day) for day in self.days}


class Canned(_Model):
    id: str = Field(pattern=r"^[a-z0-9_]{1,24}$")
    title: Text
    text: Text


class CasesData(_Model):
    working_hours: WorkingHours
    typical_answer_hours: float = Field(gt=0, le=24 * 14)
    measured_after: int = Field(default=10, ge=1)
    canned: list[Canned] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _unique(self) -> CasesData:
        ids = [c.id for c in self.canned]
        if len(ids) != len(set(ids)):
            raise ValueError("canned answer ids must be unique")
        return self

    def canned_answer(self, canned_id: str) -> Canned | None:
        return next((c for c in self.canned if c.id == canned_id), None)


def read(file: Path) -> tuple[CasesData | None, list[DataError]]:
    doc, errors = read_yaml(file)
    if doc is None:
        return None, errors
    try:
        return CasesData.model_validate(doc.data), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            path = tuple(p for p in error["loc"] if isinstance(p, str | int))
            where = ".".join(str(p) for p in path)
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(doc.error(f"{where}: {message}" if where else message, *path))
        return None, problems


def load_cases(data_dir: Path) -> tuple[CasesData | None, list[DataError]]:
    file = data_dir / FOLDER / FILE
    if not file.exists():
        file = DEMO_DATA_DIR / FOLDER / FILE
    return read(file)
