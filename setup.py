"""Build the compiled rule-evaluation kernel (``pipeline/classify/_kernel.pyx``).

Everything else about the package lives in pyproject.toml. The kernel is optional: without a C
compiler the build goes on without it and the classifier runs its pure-Python engine (the
reference implementation), slower but identical in every verdict.
"""

import hashlib
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

KERNEL = Path("pipeline/classify/_kernel.pyx")
# The loader compares this with the .pyx beside the module: an edited, not rebuilt kernel is
# never used (pipeline/classify/kernel.py).
SOURCE_HASH = hashlib.sha256(KERNEL.read_bytes()).hexdigest()

extensions = cythonize(
    [
        Extension(
            "pipeline.classify._kernel",
            [str(KERNEL)],
            define_macros=[("KERNEL_SOURCE_HASH", f'"{SOURCE_HASH}"')],
            extra_compile_args=["-O2"],
        )
    ],
    compiler_directives={"language_level": 3},
    quiet=True,
)
for extension in extensions:
    extension.optional = True  # a failed compile is a warning (cythonize drops this flag)

setup(ext_modules=extensions)
