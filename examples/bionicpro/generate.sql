-- A deterministic generator of the seed's volume: 12 users, 15 prosthetics, 2.5 years
-- (2024-01-01 .. 2026-06-30), about 456,000 telemetry events and 45,000 battery metrics.
-- No random(): every value comes from h(), an integer hash of its coordinates, so every run
-- produces the same rows.
CREATE OR REPLACE FUNCTION pg_temp.h(a bigint, b bigint, c bigint) RETURNS bigint
  LANGUAGE sql IMMUTABLE AS $$ SELECT ((a * 2654435761 + b * 40503 + c * 9973) % 1000003 + 1000003) % 1000003 $$;

INSERT INTO crm.users
SELECT u, 'User ' || u, 'user' || u || '@bionicpro.example',
       (ARRAY['Moscow', 'Kazan', 'Novosibirsk', 'Yekaterinburg'])[1 + u % 4],
       timestamp '2023-12-01' + u * interval '1 day'
FROM generate_series(1, 12) AS u;

-- users 1, 2 and 3 have two prosthetics
INSERT INTO crm.prosthetics
SELECT p, 1 + (p - 1) % 12, (ARRAY['BionicHand X1', 'BionicHand X2', 'BionicArm Pro'])[1 + p % 3],
       'SN-' || lpad(p::text, 5, '0'), date '2024-01-01'
FROM generate_series(1, 15) AS p;

-- even users: basic until 2025-03-31, then premium; odd users: standard; user 11 cancelled at the end of 2025
INSERT INTO crm.subscriptions VALUES
  (1, 2, 'basic', 1999.00, date '2024-01-01', date '2025-03-31', 'ended');
INSERT INTO crm.subscriptions
SELECT row_number() OVER (ORDER BY u, started) + 1, u, plan, cost, started, ended, status FROM (
  SELECT u, 'basic' AS plan, 1999.00 AS cost, date '2024-01-01' AS started, date '2025-03-31' AS ended,
         'ended' AS status FROM generate_series(4, 12, 2) AS u
  UNION ALL
  SELECT u, 'premium', 2999.00, date '2025-04-01', NULL, 'active' FROM generate_series(2, 12, 2) AS u
  UNION ALL
  SELECT u, 'standard', 2499.00, date '2024-01-01' + (u / 2) * interval '1 month',
         CASE WHEN u = 11 THEN date '2025-12-31' END, CASE WHEN u = 11 THEN 'cancelled' ELSE 'active' END
  FROM generate_series(1, 11, 2) AS u
) s;

-- one payment per subscription month on the 5th; about one in ten fails and is paid again on the 10th
INSERT INTO crm.payments
SELECT row_number() OVER (ORDER BY user_id, paid_at, status), user_id, amount, paid_at, status FROM (
  SELECT s.user_id, s.monthly_cost AS amount, m + interval '4 days 9 hours' AS paid_at,
         CASE WHEN pg_temp.h(s.user_id, extract(epoch FROM m)::bigint / 86400, 1) % 10 = 0 THEN 'failed'
              ELSE 'success' END AS status
  FROM crm.subscriptions s
  CROSS JOIN generate_series(date '2024-01-01', date '2026-06-01', interval '1 month') AS m
  WHERE m >= date_trunc('month', s.started_at) AND (s.ended_at IS NULL OR m <= s.ended_at)
  UNION ALL
  SELECT s.user_id, s.monthly_cost, m + interval '9 days 12 hours', 'success'
  FROM crm.subscriptions s
  CROSS JOIN generate_series(date '2024-01-01', date '2026-06-01', interval '1 month') AS m
  WHERE m >= date_trunc('month', s.started_at) AND (s.ended_at IS NULL OR m <= s.ended_at)
    AND pg_temp.h(s.user_id, extract(epoch FROM m)::bigint / 86400, 1) % 10 = 0
) p;

-- about three tickets per user and year
INSERT INTO crm.support_tickets
SELECT row_number() OVER (ORDER BY u, d), u, (SELECT min(prosthetic_id) FROM crm.prosthetics p WHERE p.user_id = u),
       d + interval '11 hours', d + interval '2 days',
       (ARRAY['low', 'medium', 'high'])[1 + pg_temp.h(u, d - date '2024-01-01', 2) % 3]
FROM generate_series(1, 12) AS u
CROSS JOIN generate_series(date '2024-01-01', date '2026-06-30', interval '1 day') AS g(day)
CROSS JOIN LATERAL (SELECT g.day::date AS d) x
WHERE pg_temp.h(u, d - date '2024-01-01', 3) % 120 = 0;

-- per prosthetic and day: 12..19 sessions (power_on, then power_off with the session's length),
-- one charge (charge_start, charge_end), an error on about one day in 17, a critical error with
-- downtime on about one day in 211
WITH days AS (
  SELECT p.prosthetic_id, p.user_id, d::date AS day, (d::date - date '2024-01-01') AS n
  FROM crm.prosthetics p CROSS JOIN generate_series(date '2024-01-01', date '2026-06-30', interval '1 day') AS d
), sessions AS (
  SELECT prosthetic_id, user_id, day, n, s,
         day + interval '6 hours' + s * interval '50 minutes' + (pg_temp.h(prosthetic_id, n, s) % 600) * interval '1 second'
           AS started,
         600 + pg_temp.h(prosthetic_id, n, s + 100) % 1800 AS seconds
  FROM days CROSS JOIN LATERAL generate_series(1, 12 + (pg_temp.h(prosthetic_id, n, 0) % 8)::int) AS s
), all_events AS (
  SELECT prosthetic_id, user_id, started AS event_time, 'power_on' AS event_type, 0 AS duration_seconds FROM sessions
  UNION ALL
  SELECT prosthetic_id, user_id, started + seconds * interval '1 second', 'power_off', seconds FROM sessions
  UNION ALL
  SELECT prosthetic_id, user_id, day + interval '22 hours', 'charge_start', 0 FROM days
  UNION ALL
  SELECT prosthetic_id, user_id, day + interval '23 hours 30 minutes', 'charge_end', 5400 FROM days
  UNION ALL
  SELECT prosthetic_id, user_id, day + interval '14 hours 3 minutes', 'error', 0 FROM days
  WHERE pg_temp.h(prosthetic_id, n, 7) % 17 = 0
  UNION ALL
  SELECT prosthetic_id, user_id, day + interval '15 hours 7 minutes', 'critical_error',
         300 + pg_temp.h(prosthetic_id, n, 8) % 3300 FROM days
  WHERE pg_temp.h(prosthetic_id, n, 9) % 211 = 0
)
INSERT INTO telemetry.events
SELECT row_number() OVER (ORDER BY event_time, prosthetic_id, event_type), prosthetic_id, user_id, event_time,
       event_type, duration_seconds
FROM all_events;

-- 3 or 4 battery readings per prosthetic and day: the evening one while charging
WITH days AS (
  SELECT p.prosthetic_id, p.user_id, d::date AS day, (d::date - date '2024-01-01') AS n
  FROM crm.prosthetics p CROSS JOIN generate_series(date '2024-01-01', date '2026-06-30', interval '1 day') AS d
)
INSERT INTO telemetry.battery_metrics
SELECT row_number() OVER (ORDER BY day, prosthetic_id, k), prosthetic_id, user_id,
       day + (ARRAY[interval '9 hours', interval '13 hours', interval '17 hours', interval '22 hours 45 minutes'])[k],
       (ARRAY[92, 71, 48, 35])[k] - (pg_temp.h(prosthetic_id, n, k) % 900) / 100.0,
       k = 4,
       CASE WHEN k < 4 THEN 70 + (pg_temp.h(prosthetic_id, n, k + 10) % 3000) / 100.0 END,
       CASE WHEN k = 4 THEN 180 + (pg_temp.h(prosthetic_id, n, k + 20) % 4000) / 100.0 END
FROM days CROSS JOIN LATERAL generate_series(1, CASE WHEN n % 3 = 0 THEN 4 ELSE 3 END) AS k;

ANALYZE;
