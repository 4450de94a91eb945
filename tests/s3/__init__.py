"""Tests of the obstore storage adapter: S3 against a moto server, local folders, memory."""
