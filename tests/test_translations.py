"""The Simplified Chinese catalogue: complete, consistent with the code, and compiled.

Simplified Chinese is the default language, so an untranslated string is an English
word in front of an elderly council member. These tests fail (never skip) when:

- an entry of ``locale/zh_Hans/LC_MESSAGES/django.po`` is empty or fuzzy;
- a translation loses, adds or renames a placeholder;
- the committed ``django.mo`` is not the compiled ``django.po``;
- a string marked for translation in the templates or Python has no entry yet
  (``makemessages`` is run on a copy of the project: GNU gettext must be installed).

To fix a failure::

    uv run python manage.py makemessages -l zh_Hans --no-obsolete \\
        --ignore=.venv --ignore=var --ignore=tests --ignore=test-artefacts
    # translate every empty or fuzzy entry in locale/zh_Hans/LC_MESSAGES/django.po
    uv run python manage.py compilemessages --ignore=.venv

and commit the .po and the .mo together.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import polib
import pytest
from django.template import Context, Template
from django.utils import translation

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = Path("locale", "zh_Hans", "LC_MESSAGES")
PO_PATH = ROOT / CATALOGUE / "django.po"
MO_PATH = ROOT / CATALOGUE / "django.mo"

MAKEMESSAGES = [
    "makemessages",
    "-l",
    "zh_Hans",
    "--no-obsolete",
    "--ignore=.venv",
    "--ignore=var",
    "--ignore=tests",
    "--ignore=test-artefacts",
]
FIX = (
    "Run `uv run python manage.py "
    + " ".join(MAKEMESSAGES)
    + "`, translate the empty and fuzzy entries in "
    + str(CATALOGUE / "django.po")
    + ", then `uv run python manage.py compilemessages --ignore=.venv`."
)
# Not copied into the scratch project: large, generated, or not scanned anyway.
NOT_COPIED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "var",
    "test-artefacts",
    "tests",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    "*.pyc",
)

# %(name)s and friends, bare %s / %d, and str.format's {name} / {0} / {}.
NAMED = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
POSITIONAL = re.compile(r"%(?!\()[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
BRACED = re.compile(r"\{(\w*)(?:![rsa])?(?::[^{}]*)?\}")


def load_po(path: Path = PO_PATH) -> polib.POFile:
    assert path.is_file(), f"{path} is missing. {FIX}"
    return polib.pofile(str(path), encoding="utf-8")


def live(po: polib.POFile) -> list[polib.POEntry]:
    return [entry for entry in po if not entry.obsolete]


def translations(entry: polib.POEntry) -> list[str]:
    if entry.msgid_plural:
        return [entry.msgstr_plural.get(i, "") for i in sorted(entry.msgstr_plural) or [0]]
    return [entry.msgstr]


def problems(po: polib.POFile) -> list[str]:
    """Every entry that Chinese readers would see in English, or wrongly."""
    found = []
    for entry in live(po):
        if "fuzzy" in entry.flags:
            found.append(f"fuzzy: {entry.msgid!r}")
        elif not all(text.strip() for text in translations(entry)):
            found.append(f"untranslated: {entry.msgid!r}")
    return found


def placeholders(text: str) -> tuple[frozenset[str], Counter, frozenset[str]]:
    """Named %-placeholders, the count of each bare %-conversion, and {}-fields."""
    text = text.replace("%%", "")
    return (
        frozenset(NAMED.findall(text)),
        Counter(match.group(0)[-1] for match in POSITIONAL.finditer(NAMED.sub("", text))),
        frozenset(BRACED.findall(text.replace("{{", "").replace("}}", ""))),
    )


def mo_pairs(mo: polib.MOFile) -> set[tuple]:
    """What gettext will look up and answer: (context, msgid, plural, translations)."""
    return {
        (entry.msgctxt, entry.msgid, entry.msgid_plural, tuple(translations(entry)))
        for entry in mo
        if entry.msgid
    }


# --- The catalogue itself -----------------------------------------------------------------


def test_header_declares_simplified_chinese_in_utf8():
    po = load_po()
    assert not po.metadata_is_fuzzy, "the .po header is marked fuzzy"
    assert po.metadata.get("Language") == "zh_Hans"
    assert po.metadata.get("Plural-Forms") == "nplurals=1; plural=0;"
    assert "charset=UTF-8" in po.metadata.get("Content-Type", "")
    assert po.encoding.lower().replace("-", "") == "utf8"


def test_catalogue_is_not_empty():
    assert len(live(load_po())) > 100, "the catalogue lost most of its entries"


def test_every_entry_is_translated_and_none_is_fuzzy():
    found = problems(load_po())
    assert not found, f"{len(found)} entries need a translator:\n" + "\n".join(found) + "\n" + FIX


def test_plural_entries_have_exactly_the_one_chinese_form():
    for entry in live(load_po()):
        if entry.msgid_plural:
            assert sorted(entry.msgstr_plural) == [0], (
                f"{entry.msgid!r}: Chinese has one plural form, fill msgstr[0] only"
            )


def test_translations_keep_every_placeholder():
    wrong = []
    for entry in live(load_po()):
        # In Chinese msgstr[0] serves every count, so it speaks for msgid_plural.
        source = entry.msgid_plural or entry.msgid
        expected = placeholders(source)
        if entry.msgid_plural and placeholders(entry.msgid) != expected:
            wrong.append(f"{entry.msgid!r}: singular and plural msgids differ in placeholders")
        for text in translations(entry):
            if text and placeholders(text) != expected:
                wrong.append(f"{source!r} -> {text!r}")
    assert not wrong, "placeholders differ between msgid and msgstr:\n" + "\n".join(wrong)


def test_python_format_translations_format_with_the_same_arguments():
    for entry in live(load_po()):
        if "python-format" not in entry.flags:
            continue
        named, _, _ = placeholders(entry.msgid_plural or entry.msgid)
        if not named:
            continue
        arguments = dict.fromkeys(named, 7)
        for text in translations(entry):
            text % arguments  # raises on a mangled conversion such as "%(name)"


def test_placeholder_check_catches_mistakes():
    assert placeholders("Edit %(name)s") == placeholders("修改%(name)s的信息")
    assert placeholders("Edit %(name)s") != placeholders("修改%(名字)s的信息")
    assert placeholders("%s of %d") != placeholders("%s")
    assert placeholders("{count} new") != placeholders("{n} 条新")
    assert placeholders("100%% sure") == placeholders("百分之百确定")


# --- The compiled catalogue ----------------------------------------------------------------


def test_committed_mo_is_the_compiled_po():
    po = load_po()
    assert MO_PATH.is_file(), f"{MO_PATH} is missing. {FIX}"
    expected = mo_pairs(polib.mofile(po.to_binary()))
    committed = mo_pairs(polib.mofile(str(MO_PATH)))
    missing = sorted(str(pair[1]) for pair in expected - committed)
    stale = sorted(str(pair[1]) for pair in committed - expected)
    assert not missing and not stale, (
        "django.mo does not match django.po; run "
        "`uv run python manage.py compilemessages --ignore=.venv` and commit the .mo.\n"
        f"missing or changed in the .mo: {missing}\nonly in the .mo: {stale}"
    )
    assert polib.mofile(str(MO_PATH)).metadata.get("Plural-Forms") == "nplurals=1; plural=0;"


# --- What people see ---------------------------------------------------------------------------


def test_chinese_is_served_for_zh_hans():
    with translation.override("zh-hans"):
        assert translation.gettext("Log in") == "登录"
        assert translation.gettext("Log out") == "退出登录"
        assert translation.gettext("Notices") == "通知"
        assert translation.gettext("Yishi") == "议事通"
        assert translation.gettext("Resident councils") == "居民议事会"
        assert translation.gettext("lane leader") == "巷长"
        assert translation.gettext("party-member household") == "党员中心户"
        assert (
            translation.ngettext("Notices: %(n)s unread", "Notices: %(n)s unread", 3) % {"n": 3}
            == "通知：3 条未读"
        )
        phone = translation.gettext(
            "Enter an 11-digit mobile number such as 13812345678, "
            "or a landline such as 0662-3312345."
        )
        assert "11 位手机号码" in phone
        locked = translation.gettext(
            "This account is locked for a while after too many wrong passwords. "
            "Try again in 15 minutes, or ask your community office to help."
        )
        assert "15" in locked and "分钟" in locked
        rendered = Template(
            '{% load i18n %}{% translate "Log in" %}|'
            "{% blocktranslate with name='王建国' %}Edit {{ name }}{% endblocktranslate %}"
        ).render(Context())
        assert rendered == "登录|修改王建国的信息"


def test_english_is_served_for_en():
    with translation.override("en"):
        assert translation.gettext("Log in") == "Log in"
        assert translation.gettext("Notices") == "Notices"
        assert (
            translation.ngettext("Notices: %(n)s unread", "Notices: %(n)s unread", 1) % {"n": 1}
            == "Notices: 1 unread"
        )
        rendered = Template('{% load i18n %}{% translate "Log out" %}').render(Context())
        assert rendered == "Log out"


def test_default_language_is_simplified_chinese(settings):
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert Path(settings.LOCALE_PATHS[0]).resolve() == (ROOT / "locale").resolve()


# --- The catalogue against the code as it is now ------------------------------------------------


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> polib.POFile:
    """The catalogue makemessages makes from the code now, merged with the committed one.

    Runs on a scratch copy of the project, so the working tree is never touched.
    Takes a few seconds.
    """
    missing_tools = [tool for tool in ("xgettext", "msgmerge", "msguniq") if not shutil.which(tool)]
    if missing_tools:
        pytest.fail(
            f"{', '.join(missing_tools)} not found: install GNU gettext "
            "(Debian/Ubuntu: `apt-get install gettext`, macOS: `brew install gettext`); "
            "these tests check that every string in the code is translated and must not skip."
        )
    scratch = tmp_path_factory.mktemp("makemessages") / "project"
    shutil.copytree(ROOT, scratch, ignore=NOT_COPIED, symlinks=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "deliberation.settings_test",
        "DEBUG": "1",
        "YISHI_VAR_DIR": str(scratch / "var"),
        "CELERY_FILESYSTEM_DIR": str(scratch / "var" / "broker"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", *MAKEMESSAGES],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"makemessages failed:\n{result.stdout}\n{result.stderr}"
    return load_po(scratch / CATALOGUE / "django.po")


def test_every_string_in_the_code_has_a_translation(regenerated):
    found = problems(regenerated)
    assert not found, (
        f"{len(found)} strings in the templates or Python are not translated yet "
        "(a fuzzy entry is a guess from a similar string and is not used):\n"
        + "\n".join(found)
        + "\n"
        + FIX
    )


def test_catalogue_has_no_entry_the_code_no_longer_uses(regenerated):
    def key(entry):
        return (entry.msgctxt, entry.msgid, entry.msgid_plural)

    in_code = {key(entry) for entry in live(regenerated)}
    stale = sorted(entry.msgid for entry in live(load_po()) if key(entry) not in in_code)
    assert not stale, f"entries for strings the code no longer has: {stale}\n{FIX}"
