"""The rockspec lists every C source the module needs (a missing one would only
show up as a link error on a luarocks user's machine)."""
import re

from conftest import ROOT


def test_rockspec_lists_all_core_and_lua_sources():
    spec = (ROOT / "unixsock-0.1.0-1.rockspec").read_text()
    listed = set(re.findall(r'"((?:core/src|lua)/[\w]+\.c)"', spec))
    present = {str(p.relative_to(ROOT)) for p in (ROOT / "core" / "src").glob("*.c")}
    present |= {str(p.relative_to(ROOT)) for p in (ROOT / "lua").glob("*.c")}
    assert listed == present
