"""Helpers of the web-app tests (servers, clients); the tests are ``tests/test_api_*.py`` and
``tests/test_web_browser.py``."""
