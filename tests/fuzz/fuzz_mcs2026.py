"""atheris harness for the ``mcs2026`` target (see targets.py); run by run.sh."""

from targets import fuzz_main

fuzz_main("mcs2026")
