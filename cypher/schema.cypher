// The graph model of idgraph on Neo4j 5, and the constraints and indexes it needs.
// Every statement below is idempotent; the store runs them, each in its own transaction,
// whenever it opens. tools/lint_cypher.js reads the labels, relationship types and property
// keys of the model from the lines starting with "// (" and lints every .cypher file
// against them, so a misspelt name in a query fails `make test`.
//
// (:Identifier {ns, key, type, value, profile_id, created_at, request_id})-[:MEMBER_OF]->(:Profile)
// (:Identifier)-[:LINKED {id, operation, source, request_id, item_index, merge_id, created_at, ended_at, end_reason, ended_request_id}]->(:Identifier)
// (:Profile {ns, id, recognized, created_at, updated_at, merged_into, parent_id, request_id, attributes})
// (:Profile)-[:MERGED_INTO {id, ns, request_id, item_index, created_at, survivor_key, absorbed_key, undone_at, undone_request_id}]->(:Profile)
// (:AttributeWrite {ns, profile_id, via_key, name, value, operation, source, request_id, written_at, position})
// (:Placement {ns, key, at, profile_id, request_id})
// (:AttributeVersion {ns, profile_id, at, attributes, request_id})
// (:Ban {ns, id, a_key, b_key, b_type, reason, created_by, created_at, request_id, link_id})
// (:Conflict {ns, id, created_at, request_id, item_index, rule, profiles, types, values, keys, named})
// (:Conflict)-[:NAMES]->(:Profile)
// (:SchemaStep {name, done_at})
// (:Request {ns, request_id, digest, created_at, response, profiles, keys})
// (:ApiKey {id, ns, name, rights, salt, hash, created_at, revoked_at})
// (:Purge {id, ns, profile_id, purged_at, purged_by, identifiers})
// (:Sequence {ns, name, next, log_padding})
// (:Identifier {_LOCK_}), (:Profile {_LOCK_}), (:Sequence {_LOCK_})
// (:Migration {source, table, after})
//
// key is '<type>:<normalized value>'. An identifier's profile_id and its MEMBER_OF relationship
// always agree; an identifier in no profile (replaced, retired by a merge) has neither. A
// profile absorbed by a merge stays as an alias: merged_into names the live survivor, and
// MERGED_INTO runs from the absorbed profile to the profile that absorbed it at the time;
// survivor_key and absorbed_key name an identifier of each side it joined, and an undone
// merge keeps its relationship, with undone_at set.
// The history that time travel reads: a Placement puts an identifier in a profile (none when
// profile_id is null) from the instant at on, an AttributeVersion holds a profile's attribute
// values from at on. A Ban forbids linking a_key with b_key, or with every identifier of
// type b_type.
// attributes (on Profile and AttributeVersion), AttributeWrite.value and Request.response
// hold JSON text.
// A Conflict names the profiles it refused to join twice: their ids in profiles, and a NAMES
// relationship to each, by which a profile's refusals are found. Refusals kept before NAMES
// existed get theirs once, when the store first opens with it (SchemaStep 'conflict_names';
// named marks those done).
// A Request's profiles and keys are the profile ids and identifier keys its response names,
// which a purge erases it for; a Purge records who erased which profile, never what.
// A Sequence counts the ids of one kind of one namespace (profile, link, merge, ban, conflict,
// purge); ns '' holds the store-wide ones (api_key) and the floor a namespace's sequence
// starts at. _LOCK_ is never stored: a writer sets and removes it in one statement to take a
// node's write lock (cypher/store/lock_*.cypher, reserve_ids.cypher). The store-wide api_key
// sequence holds log_padding only for one transaction after a purge: it fills the transaction
// log file holding the purge, so Neo4j closes it (graph/store/neo4j/purge.py).

CREATE CONSTRAINT identifier_key IF NOT EXISTS
FOR (i:Identifier) REQUIRE (i.ns, i.key) IS UNIQUE;

CREATE CONSTRAINT profile_id IF NOT EXISTS
FOR (p:Profile) REQUIRE (p.ns, p.id) IS UNIQUE;

CREATE CONSTRAINT request_id IF NOT EXISTS
FOR (r:Request) REQUIRE (r.ns, r.request_id) IS UNIQUE;

// sequences were store-wide, and one WriteLock node made writers take turns: a store of that
// time keeps its sequences as the floor of every namespace's (ns ''), and loses the lock
DROP CONSTRAINT sequence_name IF EXISTS;

DROP CONSTRAINT write_lock_name IF EXISTS;

MATCH (s:Sequence) WHERE s.ns IS NULL SET s.ns = '';

CREATE CONSTRAINT sequence_ns_name IF NOT EXISTS
FOR (s:Sequence) REQUIRE (s.ns, s.name) IS UNIQUE;

CREATE CONSTRAINT placement_at IF NOT EXISTS
FOR (p:Placement) REQUIRE (p.ns, p.key, p.at) IS UNIQUE;

CREATE CONSTRAINT attribute_version_at IF NOT EXISTS
FOR (v:AttributeVersion) REQUIRE (v.ns, v.profile_id, v.at) IS UNIQUE;

CREATE CONSTRAINT ban_id IF NOT EXISTS
FOR (b:Ban) REQUIRE (b.ns, b.id) IS UNIQUE;

CREATE CONSTRAINT schema_step_name IF NOT EXISTS
FOR (s:SchemaStep) REQUIRE s.name IS UNIQUE;

CREATE CONSTRAINT api_key_id IF NOT EXISTS
FOR (k:ApiKey) REQUIRE k.id IS UNIQUE;

// purges are numbered per namespace, as every id but an API key's (the index on (ns, id)
// makes way for the constraint's own)
DROP CONSTRAINT purge_id IF EXISTS;

DROP INDEX purge_ns IF EXISTS;

CREATE CONSTRAINT purge_ns_id IF NOT EXISTS
FOR (p:Purge) REQUIRE (p.ns, p.id) IS UNIQUE;

CREATE INDEX identifier_profile IF NOT EXISTS
FOR (i:Identifier) ON (i.ns, i.profile_id);

CREATE INDEX profile_merged_into IF NOT EXISTS
FOR (p:Profile) ON (p.ns, p.merged_into);

CREATE INDEX link_id IF NOT EXISTS
FOR ()-[l:LINKED]-() ON (l.id);

CREATE INDEX link_source IF NOT EXISTS
FOR ()-[l:LINKED]-() ON (l.source, l.created_at);

CREATE INDEX link_ended IF NOT EXISTS
FOR ()-[l:LINKED]-() ON (l.ended_at);

CREATE INDEX link_ended_request IF NOT EXISTS
FOR ()-[l:LINKED]-() ON (l.ended_request_id);

CREATE INDEX merge_id IF NOT EXISTS
FOR ()-[m:MERGED_INTO]-() ON (m.id);

CREATE INDEX attribute_write_profile IF NOT EXISTS
FOR (w:AttributeWrite) ON (w.ns, w.profile_id);

CREATE INDEX attribute_write_via IF NOT EXISTS
FOR (w:AttributeWrite) ON (w.ns, w.via_key);

CREATE INDEX conflict_id IF NOT EXISTS
FOR (c:Conflict) ON (c.ns, c.id);

// composite indexes serve queries with a predicate on each of their properties: these serve
// the members of a profile at an instant, and the purge, which knows no instant
CREATE INDEX placement_profile IF NOT EXISTS
FOR (p:Placement) ON (p.ns, p.profile_id, p.at);

CREATE INDEX placement_key IF NOT EXISTS
FOR (p:Placement) ON (p.ns, p.key);

CREATE INDEX attribute_version_profile IF NOT EXISTS
FOR (v:AttributeVersion) ON (v.ns, v.profile_id);

CREATE INDEX ban_a IF NOT EXISTS
FOR (b:Ban) ON (b.ns, b.a_key);

CREATE INDEX ban_b IF NOT EXISTS
FOR (b:Ban) ON (b.ns, b.b_key);

CREATE INDEX api_key_ns IF NOT EXISTS
FOR (k:ApiKey) ON (k.ns);

// the store-wide sequence of API key ids; every other sequence is made by the first write of
// its namespace (cypher/store/reserve_ids.cypher)
MERGE (s:Sequence {ns: '', name: 'api_key'}) ON CREATE SET s.next = 1;
