"""The SQLite schema as numbered migrations; ``PRAGMA user_version`` holds the last applied.

Never edit a released migration: append a new one, so that a file written by one version
opens in the next. Version 1 already keeps what lineage, undo and purge will need: links are
ended (never deleted) with time, reason and request; every merge is a row; every attribute
write is kept with the identifier it came through.
"""

MIGRATIONS: list[str] = [
    # 1: the core write path
    """
    CREATE TABLE profiles (
        id          INTEGER PRIMARY KEY,
        ns          TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        recognized  INTEGER NOT NULL DEFAULT 0,
        merged_into INTEGER,               -- the survivor, flattened: never an alias itself
        parent_id   INTEGER,               -- the profile this one was split from
        request_id  TEXT NOT NULL
    );
    CREATE INDEX profiles_merged_into ON profiles (merged_into) WHERE merged_into IS NOT NULL;

    CREATE TABLE identifiers (
        ns          TEXT NOT NULL,
        key         TEXT NOT NULL,         -- '<type>:<normalized value>'
        type        TEXT NOT NULL,
        value       TEXT NOT NULL,
        profile_id  INTEGER,
        created_at  TEXT NOT NULL,
        request_id  TEXT NOT NULL,
        PRIMARY KEY (ns, key)
    ) WITHOUT ROWID;
    CREATE INDEX identifiers_profile ON identifiers (ns, profile_id);

    CREATE TABLE links (
        id               INTEGER PRIMARY KEY,
        ns               TEXT NOT NULL,
        a_key            TEXT NOT NULL,
        b_key            TEXT NOT NULL,
        operation        TEXT NOT NULL,
        source           TEXT,
        request_id       TEXT NOT NULL,
        item_index       INTEGER,
        merge_id         INTEGER,          -- the merge this link caused, if any
        created_at       TEXT NOT NULL,
        ended_at         TEXT,
        end_reason       TEXT,
        ended_request_id TEXT
    );
    CREATE INDEX links_a ON links (ns, a_key);
    CREATE INDEX links_b ON links (ns, b_key);

    CREATE TABLE merges (
        id                INTEGER PRIMARY KEY,
        ns                TEXT NOT NULL,
        survivor          INTEGER NOT NULL,
        absorbed          INTEGER NOT NULL,
        request_id        TEXT NOT NULL,
        item_index        INTEGER,
        created_at        TEXT NOT NULL,
        undone_at         TEXT,
        undone_request_id TEXT
    );
    CREATE INDEX merges_survivor ON merges (ns, survivor);
    CREATE INDEX merges_absorbed ON merges (ns, absorbed);

    CREATE TABLE attributes (
        ns          TEXT NOT NULL,
        profile_id  INTEGER NOT NULL,
        name        TEXT NOT NULL,
        value       TEXT NOT NULL,         -- JSON
        via_key     TEXT,
        request_id  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        PRIMARY KEY (ns, profile_id, name)
    ) WITHOUT ROWID;

    CREATE TABLE attribute_writes (
        id          INTEGER PRIMARY KEY,
        ns          TEXT NOT NULL,
        profile_id  INTEGER NOT NULL,
        via_key     TEXT,
        name        TEXT NOT NULL,
        value       TEXT,                  -- JSON; NULL records a deletion
        operation   TEXT NOT NULL,
        source      TEXT,
        request_id  TEXT NOT NULL,
        written_at  TEXT NOT NULL
    );
    CREATE INDEX attribute_writes_profile ON attribute_writes (ns, profile_id);

    CREATE TABLE conflicts (
        id          INTEGER PRIMARY KEY,
        ns          TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        request_id  TEXT NOT NULL,
        item_index  INTEGER NOT NULL,
        rule        TEXT NOT NULL,
        profiles    TEXT NOT NULL,         -- JSON list of profile ids
        identifiers TEXT NOT NULL          -- JSON list of [type, value]
    );
    CREATE INDEX conflicts_ns ON conflicts (ns, id);

    CREATE TABLE requests (
        ns          TEXT NOT NULL,
        request_id  TEXT NOT NULL,
        digest      TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        response    TEXT NOT NULL,         -- JSON
        PRIMARY KEY (ns, request_id)
    ) WITHOUT ROWID;

    CREATE TABLE sequences (
        name TEXT PRIMARY KEY,
        next INTEGER NOT NULL
    );
    INSERT INTO sequences (name, next) VALUES ('profile', 1), ('link', 1), ('merge', 1);
    """,
    # 2: statistics for the query planner. With none, SQLite assumes `ns = ?` narrows a table
    # to ten rows and answers a profile by scanning its whole namespace. These describe the
    # worst case (one namespace holding everything); ANALYZE's own figures are kept where it
    # has any, and are as good.
    """
    ANALYZE;
    INSERT INTO sqlite_stat1 (tbl, idx, stat)
    SELECT tbl, idx, stat FROM (
        SELECT 'identifiers' AS tbl, 'identifiers' AS idx, '1000000 1000000 1' AS stat
        UNION ALL SELECT 'identifiers', 'identifiers_profile', '1000000 1000000 2'
        UNION ALL SELECT 'attributes', 'attributes', '1000000 1000000 5 1'
        UNION ALL SELECT 'links', 'links_a', '1000000 1000000 2'
        UNION ALL SELECT 'links', 'links_b', '1000000 1000000 2'
        UNION ALL SELECT 'profiles', 'profiles_merged_into', '100000 2'
        UNION ALL SELECT 'merges', 'merges_survivor', '100000 100000 2'
        UNION ALL SELECT 'merges', 'merges_absorbed', '100000 100000 1'
        UNION ALL SELECT 'attribute_writes', 'attribute_writes_profile', '1000000 1000000 5'
        UNION ALL SELECT 'conflicts', 'conflicts_ns', '100000 100000 1'
        UNION ALL SELECT 'requests', 'requests', '1000000 1000000 1'
    ) AS seed
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_stat1 AS s WHERE s.idx = seed.idx);
    ANALYZE sqlite_schema
    """,
    # 3: history for lineage, undo and time travel. A placement records which profile an
    # identifier is in from an instant on (NULL: none); an attribute version, a profile's
    # values from an instant on. Rows written before this version get one placement at their
    # identifier's creation, and one version at their last attribute write: a time-travel
    # read of an earlier instant sees the profile as it is now.
    """
    ALTER TABLE merges ADD COLUMN survivor_key TEXT;
    ALTER TABLE merges ADD COLUMN absorbed_key TEXT;

    CREATE TABLE placements (
        ns          TEXT NOT NULL,
        key         TEXT NOT NULL,
        at          TEXT NOT NULL,
        profile_id  INTEGER,
        request_id  TEXT NOT NULL,
        PRIMARY KEY (ns, key, at)
    ) WITHOUT ROWID;
    CREATE INDEX placements_profile ON placements (ns, profile_id, at);
    INSERT INTO placements (ns, key, at, profile_id, request_id)
    SELECT ns, key, created_at, profile_id, request_id FROM identifiers;

    CREATE TABLE attribute_versions (
        ns          TEXT NOT NULL,
        profile_id  INTEGER NOT NULL,
        at          TEXT NOT NULL,
        attributes  TEXT NOT NULL,         -- JSON object of the values
        request_id  TEXT NOT NULL,
        PRIMARY KEY (ns, profile_id, at)
    ) WITHOUT ROWID;
    INSERT INTO attribute_versions (ns, profile_id, at, attributes, request_id)
    SELECT ns, profile_id, max(updated_at), json_group_object(name, json(value)), 'migration'
    FROM attributes GROUP BY ns, profile_id;

    CREATE TABLE bans (
        id          INTEGER PRIMARY KEY,
        ns          TEXT NOT NULL,
        a_key       TEXT NOT NULL,
        b_key       TEXT,                  -- a ban of one identifier against another
        b_type      TEXT,                  -- or against every identifier of a type
        reason      TEXT NOT NULL,
        created_by  TEXT,
        created_at  TEXT NOT NULL,
        request_id  TEXT NOT NULL,
        link_id     INTEGER                -- the link whose end asked for it
    );
    CREATE INDEX attribute_writes_via ON attribute_writes (ns, via_key);
    CREATE INDEX bans_a ON bans (ns, a_key);
    CREATE INDEX bans_b ON bans (ns, b_key) WHERE b_key IS NOT NULL;
    INSERT INTO sequences (name, next) VALUES ('ban', 1);
    INSERT INTO sqlite_stat1 (tbl, idx, stat)
    SELECT tbl, idx, stat FROM (
        SELECT 'placements' AS tbl, 'placements' AS idx, '2000000 2000000 2 1' AS stat
        UNION ALL SELECT 'placements', 'placements_profile', '2000000 2000000 2 1'
        UNION ALL SELECT 'attribute_versions', 'attribute_versions', '1000000 1000000 3 1'
        UNION ALL SELECT 'attribute_writes', 'attribute_writes_via', '1000000 1000000 5'
        UNION ALL SELECT 'bans', 'bans_a', '10000 10000 2'
        UNION ALL SELECT 'bans', 'bans_b', '10000 10000 2'
    ) AS seed
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_stat1 AS s WHERE s.idx = seed.idx);
    ANALYZE sqlite_schema
    """,
    # 4: who may call (API keys, only a salted scrypt hash of each secret is kept) and the
    # audit log of purges (who erased which profile when, never what was erased). Deleted rows
    # are overwritten with zeros (PRAGMA secure_delete, set on every connection), so an erased
    # value does not linger in free pages of the file.
    """
    CREATE TABLE api_keys (
        id          INTEGER PRIMARY KEY,
        ns          TEXT NOT NULL,
        name        TEXT NOT NULL,
        rights      TEXT NOT NULL,         -- JSON array: "read", "write"
        salt        TEXT NOT NULL,         -- hex
        hash        TEXT NOT NULL,         -- hex of scrypt(secret, salt)
        created_at  TEXT NOT NULL,
        revoked_at  TEXT
    );
    CREATE UNIQUE INDEX api_keys_name ON api_keys (ns, name) WHERE revoked_at IS NULL;

    CREATE TABLE purges (
        id          INTEGER PRIMARY KEY,
        ns          TEXT NOT NULL,
        profile_id  INTEGER NOT NULL,
        purged_at   TEXT NOT NULL,
        purged_by   TEXT NOT NULL,         -- the key's name, "admin" or "local"
        identifiers INTEGER NOT NULL       -- how many were erased, never which
    );
    CREATE INDEX purges_ns ON purges (ns, id);
    INSERT INTO sqlite_stat1 (tbl, idx, stat)
    SELECT tbl, idx, stat FROM (
        SELECT 'api_keys' AS tbl, 'api_keys_name' AS idx, '100 100 1' AS stat
        UNION ALL SELECT 'purges', 'purges_ns', '10000 10000 1'
    ) AS seed
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_stat1 AS s WHERE s.idx = seed.idx);
    ANALYZE sqlite_schema
    """,
    # 5: ids per namespace, as on Neo4j. Profiles, links, merges, conflicts, bans and purges
    # were numbered from store-wide sequences (rowids for conflicts and purges), so one
    # namespace's ids showed how busy the others were. Each table is rebuilt keyed by
    # (ns, id), WITHOUT ROWID: a row is found by its key in one b-tree search, as the rowid
    # found it before, and a namespace's rows lie together. Sequences are (ns, name, next);
    # the store-wide ones become the floor (ns '') a namespace's own starts at, made by its
    # first write, so a store's namespaces go on above every id already used. API key ids
    # stay store-wide (a rowid), and so do attribute writes' (never shown). The old tables'
    # indexes are made again as they were, with their statistics (seeded where missing), but
    # profiles_merged_into, which now leads with ns, and conflicts_ns and purges_ns, which
    # the keys replace.
    """
    ALTER TABLE profiles RENAME TO profiles_v4;
    CREATE TABLE profiles (
        id          INTEGER NOT NULL,
        ns          TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        recognized  INTEGER NOT NULL DEFAULT 0,
        merged_into INTEGER,               -- the survivor, flattened: never an alias itself
        parent_id   INTEGER,               -- the profile this one was split from
        request_id  TEXT NOT NULL,
        PRIMARY KEY (ns, id)
    ) WITHOUT ROWID;
    INSERT INTO profiles (id, ns, created_at, updated_at, recognized, merged_into, parent_id,
                          request_id)
    SELECT id, ns, created_at, updated_at, recognized, merged_into, parent_id, request_id
    FROM profiles_v4 ORDER BY ns, id;
    DROP TABLE profiles_v4;
    CREATE INDEX profiles_merged_into ON profiles (ns, merged_into) WHERE merged_into IS NOT NULL;

    ALTER TABLE links RENAME TO links_v4;
    CREATE TABLE links (
        id               INTEGER NOT NULL,
        ns               TEXT NOT NULL,
        a_key            TEXT NOT NULL,
        b_key            TEXT NOT NULL,
        operation        TEXT NOT NULL,
        source           TEXT,
        request_id       TEXT NOT NULL,
        item_index       INTEGER,
        merge_id         INTEGER,          -- the merge this link caused, if any
        created_at       TEXT NOT NULL,
        ended_at         TEXT,
        end_reason       TEXT,
        ended_request_id TEXT,
        PRIMARY KEY (ns, id)
    ) WITHOUT ROWID;
    INSERT INTO links (id, ns, a_key, b_key, operation, source, request_id, item_index,
                       merge_id, created_at, ended_at, end_reason, ended_request_id)
    SELECT id, ns, a_key, b_key, operation, source, request_id, item_index, merge_id,
           created_at, ended_at, end_reason, ended_request_id
    FROM links_v4 ORDER BY ns, id;
    DROP TABLE links_v4;
    CREATE INDEX links_a ON links (ns, a_key);
    CREATE INDEX links_b ON links (ns, b_key);

    ALTER TABLE merges RENAME TO merges_v4;
    CREATE TABLE merges (
        id                INTEGER NOT NULL,
        ns                TEXT NOT NULL,
        survivor          INTEGER NOT NULL,
        absorbed          INTEGER NOT NULL,
        request_id        TEXT NOT NULL,
        item_index        INTEGER,
        created_at        TEXT NOT NULL,
        undone_at         TEXT,
        undone_request_id TEXT,
        survivor_key      TEXT,
        absorbed_key      TEXT,
        PRIMARY KEY (ns, id)
    ) WITHOUT ROWID;
    INSERT INTO merges (id, ns, survivor, absorbed, request_id, item_index, created_at,
                        undone_at, undone_request_id, survivor_key, absorbed_key)
    SELECT id, ns, survivor, absorbed, request_id, item_index, created_at, undone_at,
           undone_request_id, survivor_key, absorbed_key
    FROM merges_v4 ORDER BY ns, id;
    DROP TABLE merges_v4;
    CREATE INDEX merges_survivor ON merges (ns, survivor);
    CREATE INDEX merges_absorbed ON merges (ns, absorbed);

    ALTER TABLE conflicts RENAME TO conflicts_v4;
    CREATE TABLE conflicts (
        id          INTEGER NOT NULL,
        ns          TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        request_id  TEXT NOT NULL,
        item_index  INTEGER NOT NULL,
        rule        TEXT NOT NULL,
        profiles    TEXT NOT NULL,         -- JSON list of profile ids
        identifiers TEXT NOT NULL,         -- JSON list of [type, value]
        PRIMARY KEY (ns, id)
    ) WITHOUT ROWID;
    INSERT INTO conflicts (id, ns, created_at, request_id, item_index, rule, profiles,
                           identifiers)
    SELECT id, ns, created_at, request_id, item_index, rule, profiles, identifiers
    FROM conflicts_v4 ORDER BY ns, id;
    DROP TABLE conflicts_v4;

    ALTER TABLE bans RENAME TO bans_v4;
    CREATE TABLE bans (
        id          INTEGER NOT NULL,
        ns          TEXT NOT NULL,
        a_key       TEXT NOT NULL,
        b_key       TEXT,                  -- a ban of one identifier against another
        b_type      TEXT,                  -- or against every identifier of a type
        reason      TEXT NOT NULL,
        created_by  TEXT,
        created_at  TEXT NOT NULL,
        request_id  TEXT NOT NULL,
        link_id     INTEGER,               -- the link whose end asked for it
        PRIMARY KEY (ns, id)
    ) WITHOUT ROWID;
    INSERT INTO bans (id, ns, a_key, b_key, b_type, reason, created_by, created_at,
                      request_id, link_id)
    SELECT id, ns, a_key, b_key, b_type, reason, created_by, created_at, request_id, link_id
    FROM bans_v4 ORDER BY ns, id;
    DROP TABLE bans_v4;
    CREATE INDEX bans_a ON bans (ns, a_key);
    CREATE INDEX bans_b ON bans (ns, b_key) WHERE b_key IS NOT NULL;

    ALTER TABLE purges RENAME TO purges_v4;
    CREATE TABLE purges (
        id          INTEGER NOT NULL,
        ns          TEXT NOT NULL,
        profile_id  INTEGER NOT NULL,
        purged_at   TEXT NOT NULL,
        purged_by   TEXT NOT NULL,         -- the key's name, "admin" or "local"
        identifiers INTEGER NOT NULL,      -- how many were erased, never which
        PRIMARY KEY (ns, id)
    ) WITHOUT ROWID;
    INSERT INTO purges (id, ns, profile_id, purged_at, purged_by, identifiers)
    SELECT id, ns, profile_id, purged_at, purged_by, identifiers
    FROM purges_v4 ORDER BY ns, id;
    DROP TABLE purges_v4;

    ALTER TABLE sequences RENAME TO sequences_v4;
    CREATE TABLE sequences (
        ns          TEXT NOT NULL,         -- '': the floor a namespace's first write starts at
        name        TEXT NOT NULL,         -- profile, link, merge, ban, conflict, purge
        next        INTEGER NOT NULL,
        PRIMARY KEY (ns, name)
    ) WITHOUT ROWID;
    INSERT INTO sequences (ns, name, next) SELECT '', name, next FROM sequences_v4;
    INSERT INTO sequences (ns, name, next)
    SELECT '', 'conflict', coalesce(max(id), 0) + 1 FROM conflicts
    UNION ALL SELECT '', 'purge', coalesce(max(id), 0) + 1 FROM purges;
    DROP TABLE sequences_v4;

    DELETE FROM sqlite_stat1
    WHERE tbl IN ('profiles', 'links', 'merges', 'conflicts', 'bans', 'purges', 'sequences')
      AND (idx IS NULL OR idx NOT IN (
          'links_a', 'links_b', 'merges_survivor', 'merges_absorbed', 'bans_a', 'bans_b'));
    INSERT INTO sqlite_stat1 (tbl, idx, stat)
    SELECT tbl, idx, stat FROM (
        SELECT 'profiles' AS tbl, 'profiles' AS idx, '1000000 1000000 1' AS stat
        UNION ALL SELECT 'profiles', 'profiles_merged_into', '100000 100000 2'
        UNION ALL SELECT 'links', 'links', '1000000 1000000 1'
        UNION ALL SELECT 'links', 'links_a', '1000000 1000000 2'
        UNION ALL SELECT 'links', 'links_b', '1000000 1000000 2'
        UNION ALL SELECT 'merges', 'merges', '100000 100000 1'
        UNION ALL SELECT 'merges', 'merges_survivor', '100000 100000 2'
        UNION ALL SELECT 'merges', 'merges_absorbed', '100000 100000 1'
        UNION ALL SELECT 'conflicts', 'conflicts', '100000 100000 1'
        UNION ALL SELECT 'bans', 'bans', '10000 10000 1'
        UNION ALL SELECT 'bans', 'bans_a', '10000 10000 2'
        UNION ALL SELECT 'bans', 'bans_b', '10000 10000 2'
        UNION ALL SELECT 'purges', 'purges', '10000 10000 1'
        UNION ALL SELECT 'sequences', 'sequences', '6000 6 1'
    ) AS seed
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_stat1 AS s WHERE s.idx = seed.idx);
    ANALYZE sqlite_schema
    """,
    # 6: which refusals name a profile. A refusal keeps the profiles it named as a JSON list,
    # which no index can search: `GET /conflicts?profile=` read every refusal of the namespace
    # (a second and more for a profile named by none, with half a million refusals). This
    # table is an index of that list, kept by triggers on `conflicts` itself, so every writer
    # of refusals (the write path, purge, copy between stores) keeps it true.
    """
    CREATE TABLE conflict_profiles (
        ns          TEXT NOT NULL,
        profile_id  INTEGER NOT NULL,
        conflict_id INTEGER NOT NULL,
        PRIMARY KEY (ns, profile_id, conflict_id)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO conflict_profiles (ns, profile_id, conflict_id)
    SELECT conflicts.ns, involved.value, conflicts.id
    FROM conflicts, json_each(conflicts.profiles) AS involved;

    CREATE TRIGGER conflict_profiles_insert AFTER INSERT ON conflicts BEGIN
        INSERT OR IGNORE INTO conflict_profiles (ns, profile_id, conflict_id)
        SELECT NEW.ns, value, NEW.id FROM json_each(NEW.profiles);
    END;
    CREATE TRIGGER conflict_profiles_delete AFTER DELETE ON conflicts BEGIN
        DELETE FROM conflict_profiles
        WHERE ns = OLD.ns AND conflict_id = OLD.id
          AND profile_id IN (SELECT value FROM json_each(OLD.profiles));
    END;
    CREATE TRIGGER conflict_profiles_update AFTER UPDATE OF ns, id, profiles ON conflicts BEGIN
        DELETE FROM conflict_profiles
        WHERE ns = OLD.ns AND conflict_id = OLD.id
          AND profile_id IN (SELECT value FROM json_each(OLD.profiles));
        INSERT OR IGNORE INTO conflict_profiles (ns, profile_id, conflict_id)
        SELECT NEW.ns, value, NEW.id FROM json_each(NEW.profiles);
    END;

    INSERT INTO sqlite_stat1 (tbl, idx, stat)
    SELECT 'conflict_profiles', 'conflict_profiles', '200000 200000 2 1'
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_stat1 WHERE idx = 'conflict_profiles');
    ANALYZE sqlite_schema
    """,
    # 7: integer identifier ids, so that the links of new identifiers are appended. Keys are
    # hashes, uuids and emails: random, so every entry of an index on them lands on a leaf page
    # of its own, and a 1,000-item batch wrote some 8,000 pages. links_a and links_b were two
    # of the four random entries of a new pair; an identifier's id is counted per namespace in
    # order of creation (sequence 'identifier'), so on ids they are appended to the end of
    # the index (benchmarks/README.md, "Integer identifier ids"). A link keeps its keys, which
    # every read shows; its ids are only what the two indexes are on. Existing identifiers
    # are numbered in order of creation. A link whose key names no identifier (none are
    # written so, but a hand-edited file may hold one) gets a NULL id and is found by no key.
    # And the links a request ended, which undoing a merge reads, get an index of their own
    # (only ended links are in it): they were found by reading every link of the namespace
    # (tests/contract/test_sqlite_query_plans.py).
    """
    ALTER TABLE identifiers ADD COLUMN id INTEGER;
    UPDATE identifiers SET id = numbered.n
    FROM (SELECT ns, key, row_number() OVER (PARTITION BY ns ORDER BY created_at, key) AS n
          FROM identifiers) AS numbered
    WHERE identifiers.ns = numbered.ns AND identifiers.key = numbered.key;
    INSERT INTO sequences (ns, name, next) VALUES ('', 'identifier', 1);
    INSERT INTO sequences (ns, name, next)
    SELECT ns, 'identifier', max(id) + 1 FROM identifiers GROUP BY ns;

    ALTER TABLE links ADD COLUMN a_id INTEGER;
    ALTER TABLE links ADD COLUMN b_id INTEGER;
    UPDATE links SET
        a_id = (SELECT i.id FROM identifiers AS i WHERE i.ns = links.ns AND i.key = links.a_key),
        b_id = (SELECT i.id FROM identifiers AS i WHERE i.ns = links.ns AND i.key = links.b_key);
    DROP INDEX links_a;
    DROP INDEX links_b;
    CREATE INDEX links_a ON links (ns, a_id);
    CREATE INDEX links_b ON links (ns, b_id);
    CREATE INDEX links_ended ON links (ns, ended_request_id) WHERE ended_request_id IS NOT NULL;

    INSERT INTO sqlite_stat1 (tbl, idx, stat)
    SELECT tbl, idx, stat FROM (
        SELECT 'links' AS tbl, 'links_a' AS idx, '1000000 1000000 2' AS stat
        UNION ALL SELECT 'links', 'links_b', '1000000 1000000 2'
        UNION ALL SELECT 'links', 'links_ended', '100000 100000 2'
    ) AS seed
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_stat1 AS s WHERE s.idx = seed.idx);
    ANALYZE sqlite_schema
    """,
]
