"""The hot path of a delivery: count repeats, dedupe alerts into episodes, group
episodes into incidents; and the off-path summary of repeats on the timeline."""
