-- Sample page views for the examples: 3,000,000 rows over the 18 calendar months up to today
-- (18 monthly partitions of default.page_views, the current month partial), and their daily
-- rollup in default.page_views_daily. Run it once the migration app-schema is applied
-- (examples/clickhouse-migration.yaml creates both tables); bin/run-local runs it when page_views is
-- empty. Generated on the server (ClickHouse 18.16 syntax and later), deterministic but for today():
--   clickhouse-client --multiquery < examples/sample-data/page-views.sql
-- Each day of the span gets the same number of views (3,000,000 / its days), from 20,000 users
-- over 12 pages and 5 referrers.
INSERT INTO default.page_views (event_date, user_id, url, referrer)
WITH subtractMonths(toStartOfMonth(today()), 17) AS first_day,
     toRelativeDayNum(today()) - toRelativeDayNum(first_day) + 1 AS days
SELECT addDays(first_day, number % days) AS event_date,
       1 + intHash32(number) % 20000 AS user_id,
       ['/', '/pricing', '/docs', '/docs/install', '/docs/backups', '/docs/retention', '/blog',
        '/blog/clickhouse-18', '/blog/report-marts', '/signup', '/login', '/contact'][1 + intHash32(number + 1) % 12]
         AS url,
       ['', 'https://www.google.com/', 'https://news.ycombinator.com/', 'https://github.com/',
        'https://www.reddit.com/'][1 + intHash32(number + 2) % 5] AS referrer
FROM numbers(3000000);

INSERT INTO default.page_views_daily
SELECT event_date, count() FROM default.page_views GROUP BY event_date;
