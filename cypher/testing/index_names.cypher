// Tests only: the names of the database's indexes (a uniqueness constraint's own among them).
SHOW INDEXES YIELD name
RETURN name
