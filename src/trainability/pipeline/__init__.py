"""The replication pipeline's package side: config -> bundles -> tables -> figures -> report.

The Snakemake workflow (workflow/) only wires these functions together.
"""
