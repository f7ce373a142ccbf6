"""Fuzzing: hypothesis properties (CI) and atheris harnesses (``run.sh``, long runs)."""
