"""The shared library exports exactly the functions the header declares, and the C guide names them all."""
import re
import subprocess

from conftest import ROOT, build_dir


def header_functions():
    text = (ROOT / "core/include/unixsock.h").read_text()
    return set(re.findall(r"UNIXSOCK_EXTERN[^;(]*?\b(unixsock_\w+)\s*\(", text, re.S))


def test_shared_library_exports_only_the_public_api():
    lib = build_dir() / "libunixsock.so"
    out = subprocess.run(["nm", "-D", "--defined-only", str(lib)], capture_output=True, text=True, check=True).stdout
    exported = {line.split()[-1] for line in out.splitlines() if line.split()[1] in "TW"}
    declared = header_functions()
    assert len(declared) > 20
    assert exported == declared


def test_python_extension_hides_the_core():
    import unixsock.capi as capi

    so = capi._capi.__file__
    out = subprocess.run(["nm", "-D", "--defined-only", so], capture_output=True, text=True, check=True).stdout
    exported = {line.split()[-1] for line in out.splitlines()}
    assert exported == {"PyInit__capi"}


def test_the_c_guide_names_every_public_function():
    # a user should find every function from docs/ alone, not only in the header
    guide = (ROOT / "docs/c-api.md").read_text()
    named = set(re.findall(r"\b(unixsock_\w+)\b", guide))
    assert header_functions() - named == set()
