-- Differential queries: each statement (separated by a line holding only
-- `;`) runs on akili (`akili query` over the published user_sessions table)
-- and on DuckDB over the same rows; the results must be equal (as multisets
-- of rows; ORDER BY ... LIMIT queries break ties so the order is total).
SELECT COUNT(*), COUNT(user_id), COUNT(DISTINCT user_id), COUNT(DISTINCT country), SUM(page_views), MIN(session_start), MAX(session_end) FROM user_sessions
;
SELECT country, COUNT(*) AS n, SUM(page_views) AS pv, AVG(session_duration_seconds) AS d, MIN(landing_page) AS lp, MAX(exit_page) AS ep FROM user_sessions GROUP BY country
;
SELECT account_type, country, COUNT(*) FROM user_sessions GROUP BY 1, 2 HAVING COUNT(*) > 3
;
SELECT user_id, session_num, page_views FROM user_sessions ORDER BY page_views DESC, user_id, session_num LIMIT 7 OFFSET 3
;
SELECT country, session_start FROM user_sessions ORDER BY country NULLS FIRST, session_start DESC, user_id LIMIT 20
;
SELECT DATE_TRUNC('hour', session_start) AS h, COUNT(*) FROM user_sessions GROUP BY 1
;
SELECT DATE_TRUNC('day', session_start) AS d, DATE_TRUNC('week', session_start) AS w, DATE_TRUNC('month', session_start) AS m, COUNT(*) FROM user_sessions GROUP BY ALL
;
SELECT EXTRACT(HOUR FROM session_start) AS hr, EXTRACT(DOW FROM session_start) AS dow, EXTRACT(DOY FROM session_start) AS doy, COUNT(*) FROM user_sessions GROUP BY 1, 2, 3
;
SELECT user_id, session_num, DATEDIFF('minute', session_start, session_end) AS m, DATEDIFF('hour', session_start, session_end) AS h, DATEDIFF('day', session_start, session_end) AS d, date_diff('millisecond', session_start, session_end) AS ms FROM user_sessions WHERE page_views > 3
;
SELECT user_id, session_num, session_end - session_start AS dur FROM user_sessions WHERE page_views > 10
;
SELECT CASE WHEN page_views >= 10 THEN 'long' WHEN page_views >= 3 THEN 'medium' ELSE 'short' END AS bucket, COUNT(*), AVG(page_views) FROM user_sessions GROUP BY 1
;
SELECT COALESCE(country, '??') AS c, COALESCE(username, user_id, 'nobody') AS who FROM user_sessions WHERE session_num = 1
;
SELECT LOWER(landing_page) AS l, UPPER(country) AS u, LENGTH(landing_page) AS n, SUBSTR(landing_page, 9, 12) AS s, landing_page || '#' || CAST(session_num AS VARCHAR) AS t FROM user_sessions WHERE user_id LIKE 'user-1%'
;
SELECT landing_page, COUNT(*) FROM user_sessions WHERE landing_page LIKE '%product%' OR landing_page ILIKE '%BLOG%' GROUP BY 1
;
SELECT user_id, session_num, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY session_start) AS rn, RANK() OVER (PARTITION BY country ORDER BY page_views DESC, user_id, session_num) AS rk FROM user_sessions WHERE user_id IS NOT NULL
;
SELECT user_id, session_num, LAG(session_end) OVER (PARTITION BY user_id ORDER BY session_num) AS prev_end, LEAD(page_views, 1, -1) OVER (PARTITION BY user_id ORDER BY session_num) AS next_pv FROM user_sessions
;
SELECT user_id, session_num, SUM(page_views) OVER (PARTITION BY user_id ORDER BY session_num) AS running, SUM(page_views) OVER (PARTITION BY user_id) AS total, COUNT(*) OVER (PARTITION BY user_id ORDER BY session_num ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS c3 FROM user_sessions
;
SELECT user_id, session_num, DENSE_RANK() OVER (ORDER BY page_views DESC) AS dr, FIRST_VALUE(landing_page) OVER (PARTITION BY user_id ORDER BY session_num) AS fv, MAX(page_views) OVER (PARTITION BY country) AS mx FROM user_sessions
;
WITH per_user AS (SELECT user_id, COUNT(*) AS sessions, SUM(page_views) AS pv FROM user_sessions GROUP BY user_id)
SELECT sessions, COUNT(*) AS users, AVG(pv) AS avg_pv FROM per_user GROUP BY sessions
;
SELECT user_id, session_num FROM user_sessions WHERE user_id IN (SELECT user_id FROM user_sessions WHERE page_views > 20)
;
SELECT user_id, page_views FROM user_sessions WHERE page_views = (SELECT MAX(page_views) FROM user_sessions)
;
SELECT a.user_id, a.session_num, b.session_num AS next_num FROM user_sessions a JOIN user_sessions b ON a.user_id = b.user_id AND b.session_num = a.session_num + 1 WHERE a.page_views > 5
;
SELECT country FROM user_sessions WHERE session_num = 1 UNION SELECT country FROM user_sessions WHERE page_views > 10
;
SELECT user_id FROM user_sessions WHERE page_views > 8 UNION ALL SELECT user_id FROM user_sessions WHERE session_num > 3
;
SELECT DISTINCT account_type, country FROM user_sessions
;
SELECT session_start >= TIMESTAMP '2026-11-02 00:00:00' AS later, COUNT(*) FROM user_sessions WHERE session_start BETWEEN TIMESTAMP '2026-11-01 12:00:00' AND TIMESTAMP '2026-11-03 00:00:00' GROUP BY 1
;
SELECT COUNT(*) FROM user_sessions WHERE session_start >= DATE '2026-11-02' AND session_end < '2026-11-02T06:00:00Z'
;
SELECT page_views // 3 AS k, page_views % 3 AS r, page_views / 4 AS q, ROUND(AVG(session_duration_seconds), 1) AS a, COUNT(*) FROM user_sessions GROUP BY 1, 2, 3
;
SELECT CAST(page_views AS DOUBLE) / 3 AS third, CAST(session_duration_seconds AS VARCHAR) AS s, session_num::DOUBLE * 1.5 AS x FROM user_sessions WHERE user_id = 'user-7'
;
SELECT SUM(CASE WHEN entry_referrer IS NULL THEN 1 ELSE 0 END) AS no_ref, COUNT(entry_referrer) AS with_ref, MIN(entry_referrer) AS mn, MAX(entry_referrer) AS mx FROM user_sessions
;
SELECT country, STRING_AGG(DISTINCT account_type, ',') IS NOT NULL AS has, COUNT(*) FILTER (WHERE page_views > 2) AS busy FROM user_sessions GROUP BY country
;
SELECT user_id, MAX(session_num) AS last_session FROM user_sessions GROUP BY user_id HAVING MAX(session_num) >= 3 AND MIN(page_views) > 1
;
SELECT epoch_ms(session_start) AS ms, EXTRACT(EPOCH FROM session_end) AS ep FROM user_sessions WHERE user_id = 'user-3'
;
SELECT NULLIF(country, 'US') AS c, GREATEST(page_views, session_num) AS g, LEAST(page_views, session_num) AS l, ABS(session_num - page_views) AS d FROM user_sessions WHERE user_id LIKE 'user-2%'
