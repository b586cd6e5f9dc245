"""Builds the Python extension: SWIG turns bindings/unixsock.i into unixsock._capi,
compiled together with the C core (its symbols stay hidden inside the extension)."""
import glob

from setuptools import Extension, setup
from setuptools.command.build_py import build_py


class BuildPyAfterExt(build_py):
    """SWIG writes capi.py while build_ext runs; build_py must copy it after."""

    def run(self):
        self.run_command("build_ext")
        super().run()


core_sources = sorted(glob.glob("core/src/*.c"))

extension = Extension(
    "unixsock._capi",
    sources=["bindings/unixsock.i", "bindings/message_type.c"] + core_sources,
    include_dirs=["core/include", "core/src"],
    define_macros=[("_GNU_SOURCE", None)],
    swig_opts=["-Icore/include", "-outdir", "python/unixsock"],
    extra_compile_args=["-std=c11", "-fvisibility=hidden", "-Wno-unused-parameter"],
)

setup(
    ext_modules=[extension],
    cmdclass={"build_py": BuildPyAfterExt},
    package_dir={"": "python"},
    packages=["unixsock"],
    package_data={"unixsock": ["py.typed"]},
)
