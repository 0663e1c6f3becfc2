"""The replication's report: one self-contained HTML file (figures embedded, no external
CSS, scripts or fonts), in the paper's order, with Table 1, the claims ledger, every run
(diverged and missing ones named as such) and the provenance of the results."""

from trainability.report.build import SECTIONS, build_report

__all__ = ["SECTIONS", "build_report"]
