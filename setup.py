"""Build hooks (everything else is in pyproject.toml): the wheel carries the C++ host library,
so it is tagged for this platform, and building one without the library stops with the command
that builds it. Editable installs load the library from the tree and skip the check."""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

LIBRARY = Path("tflm_train") / "_lib" / "libtflm_train.so"


class BuildPy(build_py):
    def run(self):
        if not self.editable_mode and not (Path(__file__).parent / LIBRARY).is_file():
            raise SystemExit(f"error: {LIBRARY} is missing, so the wheel would have no runtime; "
                             "build it first with scripts/build_host.sh (scripts/install.sh "
                             "does that), then rerun pip install .")
        super().run()


class NativeDistribution(Distribution):
    def has_ext_modules(self):
        return True  # a platform wheel: the package holds a native library


setup(cmdclass={"build_py": BuildPy}, distclass=NativeDistribution)
