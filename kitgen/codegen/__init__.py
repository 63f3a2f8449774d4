"""From the intermediate model to files: names, rendering, headers, exports and writing."""
