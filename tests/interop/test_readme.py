"""The README's Python and Lua examples run as printed, and print what their
comments say (a "..." in a comment stands for anything)."""
import re
import subprocess
import sys

import pytest

from conftest import ROOT
from examples import lua_env

README = (ROOT / "README.md").read_text()
# a print whose comment shows what it prints: "# b'g1'" in Python, "--> g1" in Lua
SHOWN = {"python": re.compile(r"print\(.*\)\s+# (.*)$"), "lua": re.compile(r"print\(.*\)\s+--> (.*)$")}
# -X dev: a socket the example leaves unclosed says so (ResourceWarning)
RUN = {"python": [sys.executable, "-X", "dev", "-"], "lua": ["lua5.4", "-"]}


def blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, re.S)


def expected_lines(code, lang):
    """Per print, in order: a regex for its line, or None for a print without one."""
    out = []
    for line in code.splitlines():
        if "print(" not in line:
            continue
        m = SHOWN[lang].search(line)
        out.append(None if m is None else
                   re.compile(".*".join(re.escape(p) for p in m.group(1).strip().split("...")) + "$"))
    return out


@pytest.mark.parametrize("lang", ["python", "lua"])
def test_the_readme_examples_run_and_print_what_they_say(lang, sockdir):
    code = "\n".join(blocks(lang))
    assert "print(" in code, f"no {lang} example that prints in the README"
    code = code.replace('"/tmp/', f'"{sockdir}/')  # its own directory, not the user's /tmp
    r = subprocess.run(RUN[lang], input=code, capture_output=True, text=True, timeout=60,
                       env=lua_env(), cwd=sockdir)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # a copied example leaks nothing and warns of nothing
    printed = r.stdout.splitlines()
    want = expected_lines(code, lang)
    assert len(printed) == len(want), r.stdout
    for line, pattern in zip(printed, want):
        if pattern is not None:
            assert pattern.match(line), (line, pattern.pattern)
