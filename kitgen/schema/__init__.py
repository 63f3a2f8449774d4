"""The schema as kitgen sees it: an intermediate model of plain frozen dataclasses."""
