"""Mail: reading sources, parsing MIME into text, and finding a forwarded AWS original."""
