"""Long texts cut into messages a platform accepts: Telegram (4096) and Viber (7000).

One rule for both: cut between paragraphs where possible, then between lines,
then between words, and inside a word only when it is longer than a message.
Each platform measures length its own way (Telegram: UTF-16 units after HTML
escaping), so the measure is a parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

Size = Callable[[str], int]


def split_text(
    text: str, limit: int, *, size: Size = len, first_limit: int | None = None
) -> list[str]:
    """Pieces whose `size` fits `limit` (`first_limit` for the first piece)."""
    first = limit if first_limit is None else first_limit
    pieces: list[str] = []
    current = ""
    for unit in _units(text, min(first, limit), size):
        allowed = first if not pieces else limit
        joined = f"{current}{unit}" if current else unit.lstrip("\n ")
        if size(joined.rstrip()) <= allowed:
            current = joined
            continue
        if current.strip():
            pieces.append(current.rstrip())
            allowed = limit
        current = unit.lstrip("\n ")
        while size(current.rstrip()) > allowed:  # a single word longer than a message
            head, current = _hard_cut(current, allowed, size)
            pieces.append(head)
            allowed = limit
    if current.strip():
        pieces.append(current.rstrip())
    return pieces


def _units(text: str, limit: int, size: Size) -> Iterator[str]:
    """The text as a sequence of units, each with the separator that precedes it."""
    for p_index, paragraph in enumerate(text.split("\n\n")):
        p_sep = "\n\n" if p_index else ""
        if size(paragraph) <= limit:
            yield p_sep + paragraph
            continue
        for l_index, line in enumerate(paragraph.split("\n")):
            l_sep = p_sep if l_index == 0 else "\n"
            if size(line) <= limit:
                yield l_sep + line
                continue
            for w_index, word in enumerate(line.split(" ")):
                yield (l_sep if w_index == 0 else " ") + word


def _hard_cut(text: str, limit: int, size: Size) -> tuple[str, str]:
    end = len(text)
    while size(text[:end]) > limit:
        end -= max(1, (size(text[:end]) - limit) // 6)
    return text[:end], text[end:]
