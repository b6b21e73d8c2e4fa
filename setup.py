"""Builds lumodb._core with CMake for `pip install --no-build-isolation .`
(pyproject.toml holds the metadata). The extension is the CMake target
lumodb_python, built for the interpreter running pip."""
import os
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        out_dir = os.path.dirname(os.path.abspath(self.get_ext_fullpath(ext.name)))
        build_dir = os.path.abspath(os.path.join(self.build_temp, "cmake"))
        src = os.path.dirname(os.path.abspath(__file__))
        subprocess.run(["cmake", "-S", src, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
                        f"-DPython_EXECUTABLE={sys.executable}", "-DLUMODB_BUILD_TESTS=OFF",
                        "-DLUMODB_BUILD_BENCH=OFF"], check=True)
        subprocess.run(["cmake", "--build", build_dir, "--target", "lumodb_python", "-j",
                        str(os.cpu_count() or 2)], check=True)
        built = os.path.join(build_dir, "python", "lumodb", os.path.basename(self.get_ext_fullpath(ext.name)))
        os.makedirs(out_dir, exist_ok=True)
        self.copy_file(built, self.get_ext_fullpath(ext.name))


setup(ext_modules=[Extension("lumodb._core", sources=[])], cmdclass={"build_ext": CMakeBuild})
