"""libFuzzer targets (clang) for the address parser, the control-message parser,
the frame decoder, and frames cut anywhere and resumed by any mix of reads, each
run for a bounded time from the seed corpus in tests/fuzz/corpus.  Run longer by
hand:
    build/fuzz/tests/fuzz/fuzz_frame -max_total_time=3600 /tmp/corpus tests/fuzz/corpus/frame"""
import os
import shutil
import subprocess

import pytest

from builds import cmake_build
from conftest import ROOT

SECONDS = int(os.environ.get("UNIXSOCK_FUZZ_SECONDS", "20"))


@pytest.fixture(scope="module")
def fuzz_build():
    return cmake_build("fuzz", "-DUNIXSOCK_FUZZ=ON", "-DUNIXSOCK_BUILD_TESTS=OFF", "-DUNIXSOCK_BUILD_LUA=OFF",
                       "-DUNIXSOCK_BUILD_CLI=OFF", "-DUNIXSOCK_BUILD_EXAMPLES=OFF", "-DUNIXSOCK_BUILD_BENCH=OFF",
                       "-DCMAKE_C_COMPILER=clang")


@pytest.mark.parametrize("target", ["address", "cmsg", "frame", "frame_resume"])
def test_fuzz_target(fuzz_build, target, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "tests" / "fuzz" / "corpus" / target, corpus)
    r = subprocess.run([str(fuzz_build / "tests" / "fuzz" / f"fuzz_{target}"), f"-max_total_time={SECONDS}",
                        f"-artifact_prefix={tmp_path}/", "-print_final_stats=1", str(corpus)],
                       capture_output=True, text=True, timeout=SECONDS + 300, cwd=tmp_path)
    crashes = list(tmp_path.glob("crash-*")) + list(tmp_path.glob("leak-*")) + list(tmp_path.glob("timeout-*"))
    assert r.returncode == 0 and not crashes, r.stderr[-6000:]
    runs = [l for l in r.stderr.splitlines() if l.startswith("stat::number_of_executed_units")]
    assert runs and int(runs[0].split(":")[-1]) > 1000
