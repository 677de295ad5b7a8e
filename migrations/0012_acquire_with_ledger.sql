-- AcquireJob returns a resumed job's tool call ledger from its own statement too. The server read
-- it with a second query after every lease that was not a job's first: a round trip on the
-- signal-to-resume path. The ledger comes as one jsonb array on the first history row (one more
-- column: the server's statement is planned on every poll, and fourteen ledger columns cost
-- more to plan than they saved), in call order, with int8 values and microsecond times as
-- strings and bytes as hex, so nothing loses precision in JSON. A job whose history is just
-- "created, leased" (head 2) has no ledger and skips the read. The result gains a column at the
-- end, so a server of the previous release, which names its columns, still reads it.
drop function aetheris.acquire_job_with_history(text, text, text[], text[], text[], integer, text, integer);
create function aetheris.acquire_job_with_history(
  p_tenant text, p_worker text, p_queues text[], p_job_types text[], p_capabilities text[],
  p_lease_ms integer, p_actor text, p_history_limit integer
) returns table (
  outcome text, next_due timestamptz, others_runnable boolean, job aetheris.jobs,
  ev_seq bigint, ev_tx_id xid8, ev_position bigint, ev_event_id uuid, ev_type text, ev_payload text,
  ev_payload_digest bytea, ev_actor text, ev_recorded_at bigint, ev_prev_hash bytea, ev_hash bytea,
  ledger jsonb
) language plpgsql as $$
declare
  a record;
  v_ledger jsonb;
begin
  select * into a from aetheris.acquire_job(p_tenant, p_worker, p_queues, p_job_types, p_capabilities,
                                            p_lease_ms, p_actor);
  if a.outcome <> 'acquired' then
    return query select a.outcome, a.next_due, a.others_runnable, null::aetheris.jobs,
      null::bigint, null::xid8, null::bigint, null::uuid, null::text, null::text, null::bytea, null::text,
      null::bigint, null::bytea, null::bytea, null::jsonb;
    return;
  end if;
  if (a.job).head_seq > 2 then
    select jsonb_agg(jsonb_build_object(
             'call_key', l.call_key, 'tool_name', l.tool_name, 'args_digest', encode(l.args_digest, 'hex'),
             'state', l.state, 'result', l.result, 'error', l.error, 'attempt', l.attempt,
             'fencing_token', l.fencing_token::text, 'idempotent', l.idempotent,
             'external_key', l.external_key, 'started_us', aetheris.to_us(l.started_at)::text,
             'finished_us', aetheris.to_us(l.finished_at)::text)
           order by l.started_at, l.call_key)
      into v_ledger
      from aetheris.tool_calls l
     where l.tenant_id = p_tenant and l.job_id = (a.job).job_id;
  end if;
  return query
    select a.outcome, a.next_due, a.others_runnable, case when e.seq = 1 then a.job end,
           e.seq, e.tx_id, e.position, e.event_id, e.type, e.payload, e.payload_digest, e.actor,
           (extract(epoch from e.recorded_at) * 1000000)::int8, e.prev_hash, e.hash,
           case when e.seq = 1 then v_ledger end
      from aetheris.events e
     where e.tenant_id = p_tenant and e.job_id = (a.job).job_id
     order by e.seq
     limit p_history_limit;
end $$;
