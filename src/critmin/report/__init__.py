"""Briefings: the charts of a run (:mod:`critmin.report.figures`, shared with the web app), the
HTML briefing (:mod:`critmin.report.briefing`) and its PDF (:mod:`critmin.report.pdf`)."""
