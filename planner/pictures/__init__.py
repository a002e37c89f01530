"""Pictures: cover pictures of meetups, series and branches, validated by decoding, re-encoded
without metadata, kept in the database in the sizes the pages need and served from the site
under content-hashed addresses."""
