"""Migration files on disk: discovery, formats, checksums, templates and the runner."""
