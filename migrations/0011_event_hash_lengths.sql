-- Every digest and hash of the log is a SHA-256, 32 bytes. The checks make that a property of the
-- table rather than of the functions that write it, so a reader may pack the three at fixed
-- offsets (a job's event page, src/store/events.ts). NOT VALID: rows written before this migration
-- are not rescanned, which would hold an exclusive lock on the whole log for the scan; they came
-- from the same SHA-256 functions, and the reader checks every packed row's length anyway.
alter table aetheris.events
  add constraint events_payload_digest_sha256 check (octet_length(payload_digest) = 32) not valid,
  add constraint events_prev_hash_sha256 check (octet_length(prev_hash) = 32) not valid,
  add constraint events_hash_sha256 check (octet_length(hash) = 32) not valid;
