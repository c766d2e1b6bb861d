"""Maintain the Chinese catalogue: `python -m app.translations.catalog [--check]`.

Extracts every msgid from the code and templates (babel.cfg), merges them into zh/messages.po
(keeping existing translations), compiles messages.mo, and lists msgids still untranslated.
With --check it changes nothing and exits 1 when something is untranslated or the .mo is stale.
"""
import io
import os
import sys

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PO = os.path.join(HERE, "zh", "LC_MESSAGES", "messages.po")
MO = os.path.join(HERE, "zh", "LC_MESSAGES", "messages.mo")
KEYWORDS = {"_": None, "gettext": None, "lazy_gettext": None, "_l": None, "ngettext": (1, 2)}


def extracted_msgids() -> set[str]:
    with open(os.path.join(HERE, "babel.cfg")) as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    ids = set()
    for _, _, message, _, _ in extract_from_dir(ROOT, method_map, options_map, keywords=KEYWORDS):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return {m for m in ids if m}


def load_po() -> Catalog:
    with open(PO, "rb") as fh:
        return read_po(fh, locale="zh")


def untranslated(catalog: Catalog, msgids) -> list[str]:
    return sorted(m for m in msgids if m not in catalog or not catalog[m].string)


def compile_mo(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def main(argv) -> int:
    catalog = load_po()
    msgids = extracted_msgids()
    missing = untranslated(catalog, msgids)
    if "--check" in argv:
        stale = not os.path.exists(MO) or open(MO, "rb").read() != compile_mo(catalog)
        for m in missing:
            print("untranslated:", m)
        if stale:
            print("messages.mo is older than messages.po: run python -m app.translations.catalog")
        return 1 if missing or stale else 0
    for m in msgids:
        if m not in catalog:
            catalog.add(m, "")
    with open(PO, "wb") as fh:
        write_po(fh, catalog, width=0, sort_output=True)
    with open(MO, "wb") as fh:
        fh.write(compile_mo(catalog))
    for m in missing:
        print("untranslated:", m)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
