-- Sessions long past the cleanup retention, for the cleanup job's test and benchmark:
-- $2 rows tagged $1 (id "$1-n", user_id $1), half expired 30 days ago, half revoked 8 days ago.
INSERT INTO tessera_sessions (id, user_id, roles, refresh_hash, generation, created_at, last_seen_at,
                              expires_at, absolute_expires_at, revoked_at, revoked_reason)
SELECT $1 || '-' || n, $1, '{user}', md5(n::text), 0, now() - interval '60 days', now() - interval '60 days',
       CASE WHEN n % 2 = 0 THEN now() - interval '30 days' ELSE now() + interval '1 day' END,
       now() + interval '2 days',
       CASE WHEN n % 2 = 0 THEN NULL ELSE now() - interval '8 days' END,
       CASE WHEN n % 2 = 0 THEN NULL ELSE 'logout' END
  FROM generate_series(1, $2) AS n
