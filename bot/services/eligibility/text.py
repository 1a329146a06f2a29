"""Texts staff write in YAML: always both languages."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Text(BaseModel):
    """A text in Ukrainian and English; neither may be missing or empty."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uk: str = Field(min_length=1, pattern=r"\S")
    en: str = Field(min_length=1, pattern=r"\S")

    def __call__(self, language: str) -> str:
        return self.en if language == "en" else self.uk
