-- AcquireJob with the leased job's history in one statement, instead of a second query per
-- acquisition. A PL/pgSQL function, not a join written by the server: its statements keep
-- cached plans (the server's statements are planned on every call, and a join with a lateral
-- history read cost more to plan than the round trip it saved), and each statement sees the
-- previous one's changes, so the history includes the `aetheris.job.leased` event just appended.
-- One row per history event, the job only on the first (seq 1) so a long history does not repeat
-- the job's input on every row; one row without event when nothing was leased. recorded_at as
-- int8 microseconds, as the server reads events everywhere.
create function aetheris.acquire_job_with_history(
  p_tenant text, p_worker text, p_queues text[], p_job_types text[], p_capabilities text[],
  p_lease_ms integer, p_actor text, p_history_limit integer
) returns table (
  outcome text, next_due timestamptz, others_runnable boolean, job aetheris.jobs,
  ev_seq bigint, ev_tx_id xid8, ev_position bigint, ev_event_id uuid, ev_type text, ev_payload text,
  ev_payload_digest bytea, ev_actor text, ev_recorded_at bigint, ev_prev_hash bytea, ev_hash bytea
) language plpgsql as $$
declare
  a record;
begin
  select * into a from aetheris.acquire_job(p_tenant, p_worker, p_queues, p_job_types, p_capabilities,
                                            p_lease_ms, p_actor);
  if a.outcome <> 'acquired' then
    return query select a.outcome, a.next_due, a.others_runnable, null::aetheris.jobs,
      null::bigint, null::xid8, null::bigint, null::uuid, null::text, null::text, null::bytea, null::text,
      null::bigint, null::bytea, null::bytea;
    return;
  end if;
  return query
    select a.outcome, a.next_due, a.others_runnable, case when e.seq = 1 then a.job end,
           e.seq, e.tx_id, e.position, e.event_id, e.type, e.payload, e.payload_digest, e.actor,
           (extract(epoch from e.recorded_at) * 1000000)::int8, e.prev_hash, e.hash
      from aetheris.events e
     where e.tenant_id = p_tenant and e.job_id = (a.job).job_id
     order by e.seq
     limit p_history_limit;
end $$;
