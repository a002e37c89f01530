"""How people's names are looked up: by the name as written, without accents ("emile" finds
Émile), by full pinyin ("zhang" or "zhangsan" finds 张三) and by pinyin initials ("zs")."""

from __future__ import annotations

import unicodedata

from pypinyin import Style, lazy_pinyin


def folded(text: str) -> str:
    """Lower case, accents dropped, spaces removed: the form a typed query is compared in."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c) and not c.isspace())


def search_text(name: str) -> str:
    """Every form a name can be found by, in one string to search in: the folded name, its full
    pinyin run together and its pinyin initials ("张三" → "张三 zhangsan zs")."""
    syllables = [word for part in lazy_pinyin(name) for word in part.split()]
    initials = [word for part in lazy_pinyin(name, style=Style.FIRST_LETTER)
                for word in part.split()]
    return " ".join(dict.fromkeys([folded(name), folded("".join(syllables)),
                                   folded("".join(word[:1] for word in initials))]))


def matches(query: str, name: str) -> bool:
    wanted = folded(query)  # has no spaces, so it never matches across two forms
    return bool(wanted) and wanted in search_text(name)
