"""Getting articles in: polite fetching, feeds, sitemaps, OPML and extraction."""
