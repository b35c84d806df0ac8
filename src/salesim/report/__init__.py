"""The report of a stored study.

``study`` (the tables a report reads), ``verdict`` and ``uncertainty`` (its text and tables),
``plots`` (figures), ``units`` (how every KPI value reads, and which side is better), ``build``
(report.html from it all).
"""
