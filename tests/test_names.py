"""Names are found the way people type them: without accents, in full pinyin or its initials."""

from __future__ import annotations

import pytest

from planner.core.names import folded, matches, search_text


def test_folding_drops_case_accents_and_spaces():
    assert folded("Émile  Zoë") == "emilezoe"
    assert folded("ＡＢＣ") == "abc"  # full-width letters from a Chinese keyboard


@pytest.mark.parametrize(("query", "name"), [
    ("zhang", "张三"), ("zhangsan", "张三"), ("zhang san", "张三"), ("zs", "张三"),
    ("emile", "Émile Zola"), ("ÉMILE", "Emile Zola"), ("xiaoming", "王小明"), ("三", "张三")])
def test_a_name_is_found_by_what_people_type(query, name):
    assert matches(query, name)


@pytest.mark.parametrize(("query", "name"), [("li", "Émile Zola"), ("", "张三"), ("  ", "张三"),
                                             ("zhao", "张三")])
def test_a_name_is_not_found_by_something_else(query, name):
    assert not matches(query, name)


def test_search_text_holds_each_form_once():
    assert search_text("张三") == "张三 zhangsan zs"
    assert search_text("abc") == "abc a"
