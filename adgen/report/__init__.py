"""report/index.html: one page showing what every stage of the pipeline did.

Each section appears when its inputs exist (a stage that has not run adds nothing), so the same
report works for a crawl-only DAG and for the full pipeline after training and generation.
"""
