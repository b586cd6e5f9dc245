"""The Python package as users get it: a wheel with the generated SWIG module,
built without build isolation (the offline path), installed into a fresh venv,
imported from another directory, and uninstalled without a trace."""
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile

import pytest

from conftest import ROOT, copy_tracked_sources


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert r.returncode == 0, f"{cmd}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


def build_wheel(source, wheels):
    """The wheel pip builds from source (a tree) into wheels, without isolation."""
    # without isolation the build runs the swig the test extra put beside this
    # interpreter (it ran only when the tree's last build was older than a source)
    env = dict(os.environ, PATH=f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}")
    run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q", "-w", str(wheels), str(source)],
        env=env)
    [wheel] = list(wheels.glob("unixsock-*.whl"))
    return wheel


def test_sdist_holds_all_that_a_build_needs(tmp_path):
    # the source distribution (what an index serves to pip where no wheel fits)
    # builds a wheel that works, away from the repository: a source file that
    # MANIFEST.in leaves out fails here, not on a user's machine
    run([sys.executable, "setup.py", "-q", "egg_info", "--egg-base", str(tmp_path), "sdist", "-d",
         str(tmp_path / "dist")], cwd=ROOT)
    [sdist] = list((tmp_path / "dist").glob("unixsock-*.tar.gz"))
    with tarfile.open(sdist) as t:
        t.extractall(tmp_path / "unpacked")
    [source] = list((tmp_path / "unpacked").iterdir())
    wheel = build_wheel(source, tmp_path / "wheels")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    py = str(venv / "bin" / "python")
    run([py, "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)])
    out = run([py, "-c", "import unixsock; a, b = unixsock.pair('seqpacket'); a.send_message(b'ok', [0]);"
                         "m = b.recv_message(); print(m.data.decode(), len(m.fds))"], cwd=tmp_path)
    assert out.split() == ["ok", "1"]


def files_in(tree):
    """Every file under tree but setuptools' own scratch (build/, *.egg-info)."""
    return {str(p.relative_to(tree)) for p in tree.rglob("*") if p.is_file()
            and p.relative_to(tree).parts[0] != "build" and not any(s.endswith(".egg-info") for s in p.parts)}


def test_a_build_writes_nothing_into_the_sources(tmp_path):
    # SWIG's C file and capi.py went into bindings/ and python/unixsock/: two
    # builds of one checkout (pip into two venvs at once) wrote over each
    # other's, and a stale capi.py stayed in the package's sources
    source = copy_tracked_sources(tmp_path / "src")
    before = files_in(source)
    wheel = build_wheel(source, tmp_path / "wheels")
    assert files_in(source) == before
    assert "unixsock/capi.py" in zipfile.ZipFile(wheel).namelist()


def test_an_in_place_build_is_importable_from_the_sources(tmp_path):
    # what pip install -e does: the extension is built, then copied into
    # python/unixsock/, and SWIG's module with it (it is written to the build
    # directory, not the sources)
    source = copy_tracked_sources(tmp_path / "src")
    env = dict(os.environ, PATH=f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}")  # the test extra's swig
    run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=source, env=env)
    out = run([sys.executable, "-c", "import unixsock; a, b = unixsock.pair(); a.send(b'ok'); print(b.recv(9).decode(), unixsock.__file__)"],
              cwd=source / "python")
    word, path = out.split()
    assert word == "ok" and path == str(source / "python" / "unixsock" / "__init__.py")


def test_a_capi_py_in_the_sources_never_reaches_the_wheel(tmp_path):
    # one that an in-place build (pip install -e) or an older build left there:
    # build_py copied it over the one SWIG wrote, and when the extension was up
    # to date (a second build) nothing wrote over it again
    source = copy_tracked_sources(tmp_path / "src")
    build_wheel(source, tmp_path / "first")
    (source / "python" / "unixsock" / "capi.py").write_text("raise ImportError('a stale capi.py')\n")
    wheel = build_wheel(source, tmp_path / "second")
    assert b"stale" not in zipfile.ZipFile(wheel).read("unixsock/capi.py")


def test_wheel_install_import_uninstall(tmp_path):
    wheel = build_wheel(ROOT, tmp_path / "wheels")
    names = zipfile.ZipFile(wheel).namelist()
    assert "unixsock/capi.py" in names  # SWIG's generated module reached the wheel
    assert "unixsock/py.typed" in names
    assert any(n.startswith("unixsock/_capi") and n.endswith(".so") for n in names)

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    py = str(venv / "bin" / "python")
    run([py, "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = run([py, "-c", "import unixsock; a, b = unixsock.pair(); a.send(b'ok'); print(b.recv(9).decode(), unixsock.__file__)"],
              cwd=elsewhere)
    word, path = out.split()
    assert word == "ok" and str(venv) in path  # the installed copy, not the source tree
    site = run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip()
    run([py, "-m", "pip", "uninstall", "-y", "-q", "unixsock"])
    left = [n for n in os.listdir(site) if n.lower().startswith("unixsock")]
    assert left == []



def import_from_copy(tmp_path, generated, extension_bytes=None):
    """`import unixsock` in a directory holding a copy of the source package, as
    Python run in python/ finds it: before a build (no SWIG module), or after
    one (SWIG's module, importing the extension as it does), with or without a
    file where the extension goes."""
    pkg = tmp_path / "unixsock"
    pkg.mkdir()
    for name in ("__init__.py", "_message.py", "aio.py"):
        (pkg / name).write_bytes((ROOT / "python" / "unixsock" / name).read_bytes())
    if generated:
        (pkg / "capi.py").write_text("from . import _capi\n")
    if extension_bytes is not None:
        (pkg / ("_capi" + sysconfig.get_config_var("EXT_SUFFIX"))).write_bytes(extension_bytes)
    return subprocess.run([sys.executable, "-c", "import unixsock"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, PYTHONPATH=""))


@pytest.mark.parametrize("generated", [False, True], ids=["before a build", "after one"])
def test_importing_the_source_tree_says_to_install(tmp_path, generated):
    r = import_from_copy(tmp_path, generated)
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: unixsock's compiled extension is not in"), r.stderr
    assert "pip install ." in last and "not python/" in last


def test_an_extension_that_fails_to_load_keeps_its_own_error(tmp_path):
    r = import_from_copy(tmp_path, True, b"not an ELF file")
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: ") and "_capi" in last, r.stderr
    assert "compiled extension is not in" not in r.stderr
