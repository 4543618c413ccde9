"""One module per webhook format, each turning a payload into AlertEvents."""
