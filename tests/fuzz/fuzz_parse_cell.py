"""atheris harness for the ``parse_cell`` target (see targets.py); run by run.sh."""

from targets import fuzz_main

fuzz_main("parse_cell")
