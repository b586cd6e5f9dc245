"""cmake --install, then a C program built with pkg-config and one built with
find_package(unixsock) complete an echo round trip."""
import os
import subprocess

from conftest import ROOT, build_dir, wait_until_serving


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{cmd} failed:\n{r.stdout}{r.stderr}"
    return r.stdout


def test_installed_library_works_with_pkg_config_and_find_package(tmp_path, sockdir):
    prefix = tmp_path / "prefix"
    run(["cmake", "--install", str(build_dir()), "--prefix", str(prefix)])
    libdir = next(p for p in (prefix / "lib", prefix / "lib64", *prefix.glob("lib/*-linux-gnu")) if (p / "pkgconfig").exists())
    assert (prefix / "include" / "unixsock.h").exists()

    # 1. pkg-config
    env = dict(os.environ, PKG_CONFIG_PATH=str(libdir / "pkgconfig"))
    flags = run(["pkg-config", "--cflags", "--libs", "unixsock"], env=env).split()
    server = tmp_path / "server"
    run(["cc", "-std=c11", "-Wall", "-Werror", str(ROOT / "examples/c/unixstreamserver.c"), "-o", str(server), *flags])

    # 2. find_package
    consumer = tmp_path / "consumer"
    run(["cmake", "-S", str(ROOT / "examples/c/consumer"), "-B", str(consumer), f"-DCMAKE_PREFIX_PATH={prefix}"])
    run(["cmake", "--build", str(consumer)])

    runenv = dict(os.environ, LD_LIBRARY_PATH=str(libdir))
    path = str(sockdir / "install.sock")
    srv = subprocess.Popen([str(server), path], stdout=subprocess.PIPE, env=runenv, text=True)
    try:
        wait_until_serving(path, srv)
        out = run([str(consumer / "echo_client"), path], input="g1\ng2\n", env=runenv, timeout=20)
        assert out == "Hi, g1\nHi, g2\n"
    finally:
        srv.terminate()
        srv.wait(timeout=10)
        srv.stdout.close()
    assert not os.path.exists(path)  # the server cleaned up on SIGTERM
    # the shared library links to the installed one, not the build tree
    ldd = run(["ldd", str(consumer / "echo_client")], env=runenv)
    assert str(libdir) in ldd


def test_lua_module_requires_after_install(tmp_path):
    prefix = tmp_path / "prefix"
    run(["cmake", "--install", str(build_dir()), "--prefix", str(prefix)])
    so = prefix / "lib" / "lua" / "5.4" / "unixsock.so"
    assert so.exists()
    env = dict(os.environ, LUA_CPATH=f"{so.parent}/?.so")
    out = run(["lua5.4", "-e", 'local u = require "unixsock"; local a, b = u.pair(); a:send("ok"); io.write(b:recv())'], env=env)
    assert out == "ok"


def test_default_install_dir_is_on_lua_default_path():
    """cmake --install with the default prefix (/usr/local) puts unixsock.so where
    a plain `lua5.4 -e 'require "unixsock"'` looks."""
    cache = (build_dir() / "CMakeCache.txt").read_text()
    assert "UNIXSOCK_LUA_CMOD_DIR:STRING=lib/lua/5.4" in cache
    cpath = run(["lua5.4", "-e", "io.write(package.cpath)"])
    assert "/usr/local/lib/lua/5.4/?.so" in cpath.split(";")
