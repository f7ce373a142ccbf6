"""atheris harness for the ``overlay`` target (see targets.py); run by run.sh."""

from targets import fuzz_main

fuzz_main("overlay")
