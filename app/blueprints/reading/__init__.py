"""Home reading log: parents record reading at home; teachers approve it into team points."""
