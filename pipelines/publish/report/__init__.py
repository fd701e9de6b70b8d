"""The HTML report: the focus country (Japan by default) against each peer group, from the published marts only.

`build_report(warehouse, out_dir)` writes out_dir/index.html: self-contained (inline CSS, charts as inline SVG
rendered by vl-convert), no JavaScript, every string from sources or config escaped by the template;
`write_report(marts, out_dir, warehouse_name)` does the same from the tables already read.
"""

from pipelines.publish.report.build import build_report, write_report

__all__ = ["build_report", "write_report"]
