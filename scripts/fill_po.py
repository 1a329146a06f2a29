"""Fill a catalog's empty translations from a YAML mapping msgid → msgstr.

Used by translators who prefer one reviewable file to editing .po by hand:
    python scripts/fill_po.py locales/uk/LC_MESSAGES/core.po translations.yaml
Existing translations are never overwritten.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from babel.messages.pofile import read_po, write_po


def main(po_path: str, mapping_path: str) -> int:
    with open(po_path, "rb") as f:
        catalog = read_po(f)
    mapping = yaml.safe_load(Path(mapping_path).read_text(encoding="utf-8"))
    filled = 0
    for message in catalog:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        if key not in mapping:
            continue
        value = mapping[key]
        if message.pluralizable:
            if not all(message.string or ()):
                message.string = tuple(value)
                filled += 1
        elif not message.string:
            message.string = value
            filled += 1
        message.flags.discard("fuzzy")
    with open(po_path, "wb") as f:
        write_po(f, catalog, width=99, include_lineno=False, sort_output=False)
    print(f"{po_path}: filled {filled}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:3]))
