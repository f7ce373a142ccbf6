"""atheris harness for the ``country_name`` target (see targets.py); run by run.sh."""

from targets import fuzz_main

fuzz_main("country_name")
