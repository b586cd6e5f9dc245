"""Builds the Python extension: SWIG turns bindings/unixsock.i into unixsock._capi,
compiled together with the rest of bindings/ and the C core (whose symbols stay
hidden inside the extension)."""
import glob
import os

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py


class BuildExt(build_ext):
    """SWIG's output goes where the build's own does, never into the source tree
    (setuptools' default), so two builds of one checkout cannot write over each
    other's: its C file to the temporary directory, its capi.py beside the
    extension it imports, in build_lib."""

    def swig_sources(self, sources, extension):
        wrap_dir = os.path.join(self.build_temp, "swig")
        package_dir = os.path.dirname(self.get_ext_fullpath(extension.name))  # build_lib's, even in place
        swig = self.swig or self.find_swig()
        out = []
        for source in sources:
            if not source.endswith(".i"):
                out.append(source)
                continue
            os.makedirs(wrap_dir, exist_ok=True)
            os.makedirs(package_dir, exist_ok=True)
            target = os.path.join(wrap_dir, os.path.basename(source)[:-2] + "_wrap.c")
            self.spawn([swig, "-python", *extension.swig_opts, "-outdir", package_dir, "-o", target, source])
            out.append(target)
        return out

    def copy_extensions_to_source(self):
        """An in-place build (pip install -e) copies the extension into the
        package's sources; SWIG's module goes with it (_capi's is capi.py)."""
        super().copy_extensions_to_source()
        build_py = self.get_finalized_command("build_py")
        for ext in self.extensions:
            package, name = ext.name.rsplit(".", 1)
            module = name.lstrip("_") + ".py"
            built = os.path.join(self.build_lib, *package.split("."), module)
            self.copy_file(built, os.path.join(build_py.get_package_dir(package), module), level=self.verbose)


class BuildPy(build_py):
    """A capi.py in the sources is an in-place build's copy (or an older build's):
    never packaged, since the extension, when up to date, is not rebuilt to
    write the wheel's own over it."""

    def find_package_modules(self, package, package_dir):
        return [m for m in super().find_package_modules(package, package_dir) if m[1] != "capi"]


# what a build before this one may have left in bindings/ is not a source
bindings_sources = sorted(f for f in glob.glob("bindings/*.c") if not f.endswith("_wrap.c"))
core_sources = sorted(glob.glob("core/src/*.c"))
headers = sorted(glob.glob("bindings/*.h") + glob.glob("core/include/*.h") + glob.glob("core/src/*.h"))

extension = Extension(
    "unixsock._capi",
    sources=["bindings/unixsock.i"] + bindings_sources + core_sources,
    depends=headers,  # a changed header rebuilds the extension
    include_dirs=["core/include", "core/src", "bindings"],
    define_macros=[("_GNU_SOURCE", None)],
    swig_opts=["-Icore/include"],
    extra_compile_args=["-std=c11", "-fvisibility=hidden", "-Wno-unused-parameter"],
)

setup(
    ext_modules=[extension],
    cmdclass={"build_ext": BuildExt, "build_py": BuildPy},
    package_dir={"": "python"},
    packages=["unixsock"],
    package_data={"unixsock": ["py.typed", "capi.pyi"]},
)
