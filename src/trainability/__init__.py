"""trainability: a reproducible replication of Glorot & Bengio (2010)."""

__version__ = "0.1.0"

#: Version of the on-disk layout of run folders (run.json and the Parquet tables).
#: Bump it whenever a column or a JSON key changes meaning.
SCHEMA_VERSION = 3
