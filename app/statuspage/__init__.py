"""The public status page: components (services the rules file makes public),
public incidents published by a person, the page, its Statuspage-shaped JSON
and feeds, served from a cache that outlives a database outage."""
