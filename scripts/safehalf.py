#!/usr/bin/env python3
"""safehalf: run a program under libsafehalf.so, and read the logs it wrote.

    safehalf [--check MODE] [--on-nonfinite ACTION] [--log PATH] [--follow-dlsym]
             [--] CMD ARGS...
    safehalf report LOG... [--json] [--run ID]

Python 3.8+, standard library only. meson configures this file twice: as
build/scripts/safehalf (the shim of the build tree, the package from the
source tree) and as the installed bin/safehalf. The code is in the
safehalf_report package next to it; see README.md, "The safehalf command and
the report".
"""
import os
import sys

# Filled in by meson's configure_file; left as they are when this file is run
# straight from the source tree (then SAFEHALF_LIB must name the shim).
VERSION = "@VERSION@"
SHIM_LIB = "@SHIM_LIB@"
PACKAGE_DIR = "@PACKAGE_DIR@"


def configured(value):
    """The value meson put in, or None when this file was not configured."""
    return None if value.startswith("@") else value


def main():
    sys.dont_write_bytecode = True  # keep __pycache__ out of source and install trees
    sys.path.insert(0, configured(PACKAGE_DIR) or os.path.dirname(os.path.abspath(__file__)))
    from safehalf_report import cli

    return cli.main(sys.argv[1:], version=configured(VERSION), shim_lib=configured(SHIM_LIB))


if __name__ == "__main__":
    sys.exit(main())
