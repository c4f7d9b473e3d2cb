"""Build hook: keep developer scripts out of the wheel (everything else is in pyproject.toml).

``formats/linux/generate_tables.py`` regenerates the committed Linux tables
from kernel and strace sources; users never run it, so it is left out of the
built package (it stays in the source tree and the sdist).
"""

from setuptools import setup
from setuptools.command.build_py import build_py

#: (package, module) pairs that are developer tools, not part of the installed package.
DEVELOPER_MODULES = frozenset({("formats.linux", "generate_tables")})


class BuildPyWithoutDeveloperScripts(build_py):
    def find_package_modules(self, package, package_dir):  # type: ignore[no-untyped-def]
        modules = super().find_package_modules(package, package_dir)
        return [m for m in modules if (m[0], m[1]) not in DEVELOPER_MODULES]


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import it
    setup(cmdclass={"build_py": BuildPyWithoutDeveloperScripts})
