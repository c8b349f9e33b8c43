"""Ingestion: load files, clean extraction damage, chunk by structure, sync a folder with the store."""
