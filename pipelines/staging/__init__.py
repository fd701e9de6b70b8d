"""Verified raw files into canonical long rows: one parser per publisher format, byte-level screening of raw text,
country harmonisation, reference tables. Imports `pipelines.base` and `pipelines.sources`."""
