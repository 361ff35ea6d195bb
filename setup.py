"""Builds golive's embedded engine: OPA's evaluator as a C shared library (libopa/, Go).

Declared as a setuptools extension so that `pip install .`, `pip install -e .` and a wheel
build all produce `controller/engine/_libopa<EXT_SUFFIX>` with `go build -buildmode=c-shared`.
It is loaded with ctypes, not imported. Go (>= 1.26) and a C compiler are needed at build time
only; the Go modules come from the Go module proxy, pinned by libopa/go.sum.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

LIBOPA = Path(__file__).resolve().parent / "libopa"


class BuildGoSharedLibrary(build_ext):
    def build_extension(self, ext: Extension) -> None:
        target = Path(self.get_ext_fullpath(ext.name)).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        if shutil.which("go") is None:
            raise SystemExit(
                "golive: building the embedded engine needs Go >= 1.26 on PATH (build time only)"
            )
        env = {**os.environ, "CGO_ENABLED": "1", "GOFLAGS": "-mod=readonly -buildvcs=false"}
        with tempfile.TemporaryDirectory() as scratch:
            # go build also writes a C header next to the library: keep it out of the package.
            built = Path(scratch) / target.name
            command = ["go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w"]
            subprocess.run([*command, "-o", str(built), "."], cwd=LIBOPA, env=env, check=True)
            # Replace, never overwrite: a running process that mapped the old library would
            # crash if its file were truncated under it.
            staged = target.with_name(target.name + ".new")
            shutil.copyfile(built, staged)
            os.replace(staged, target)


setup(
    ext_modules=[Extension("controller.engine._libopa", sources=["libopa/main.go", "libopa/explain.go"])],
    cmdclass={"build_ext": BuildGoSharedLibrary},
)
