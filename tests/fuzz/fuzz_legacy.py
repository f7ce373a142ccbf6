"""atheris harness for the ``legacy`` target (see targets.py); run by run.sh."""

from targets import fuzz_main

fuzz_main("legacy")
