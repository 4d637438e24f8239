/* test_sql.c - the SQL engine on small in-memory tables: the seed's
 * transform and checks, DuckDB semantics (DATEDIFF boundaries, RANGE peers,
 * NULL ordering, bytewise text), joins, grouping, windows, errors. */
#include "ak_test.h"
#include "sql_fixture.h"
#include "ak_time.h"

static const char *SEED_SQL =
    "-- Sessionize clickstream events\n"
    "WITH ordered_events AS (\n"
    "SELECT e.user_id, e.page_url, e.referrer_url, e.event_time,\n"
    "LAG(e.event_time) OVER (PARTITION BY e.user_id ORDER BY e.event_time) AS prev_event_time\n"
    "FROM {{ ref('clickstream') }} e),\n"
    "session_boundaries AS (SELECT *, CASE WHEN prev_event_time IS NULL OR DATEDIFF('minute', prev_event_time, event_time) > 30 THEN 1 ELSE 0 END AS is_new_session FROM ordered_events),\n"
    "session_ids AS (SELECT *, SUM(is_new_session) OVER (PARTITION BY user_id ORDER BY event_time) AS session_num FROM session_boundaries)\n"
    "SELECT s.user_id, u.username, u.account_type, u.country, s.session_num,\n"
    "MIN(s.event_time) AS session_start, MAX(s.event_time) AS session_end,\n"
    "DATEDIFF('second', MIN(s.event_time), MAX(s.event_time)) AS session_duration_seconds,\n"
    "COUNT(*) AS page_views, MIN(s.page_url) AS landing_page, MAX(s.page_url) AS exit_page, MIN(s.referrer_url) AS entry_referrer\n"
    "FROM session_ids s LEFT JOIN {{ ref('user_profiles') }} u ON s.user_id = u.user_id\n"
    "GROUP BY s.user_id, u.username, u.account_type, u.country, s.session_num\n"
    "ORDER BY 1, 5";

static void seed_db(fx_db_t *db)
{
    memset(db, 0, sizeof *db);
    fx_add(db, "clickstream",
           "user_id:TEXT,page_url:TEXT,referrer_url:TEXT,event_time:TIMESTAMP\n"
           "u1|/b|\\N|2026-11-01 10:00:59\n"
           "u1|/a|r1|2026-11-01 10:32:00\n"   /* 31 boundaries after 10:01:30: new session */
           "u1|/Z|\\N|2026-11-01 10:01:30\n"  /* out of order, same session as 10:00:59 */
           "u2|/x|r2|2026-11-01 10:00:00\n"
           "u2|/y|\\N|2026-11-01 10:30:59.999\n" /* 30 boundaries: same session */
           "u3|/p|\\N|2026-11-01 09:00:00\n"
           "u3|/q|\\N|2026-11-01 09:00:00\n"  /* tie on event_time */
           "\\N|/n1|\\N|2026-11-01 08:00:00\n"
           "\\N|/n2|\\N|2026-11-01 09:00:00\n");
    fx_add(db, "user_profiles",
           "user_id:TEXT,username:TEXT,account_type:TEXT,country:TEXT\n"
           "u1|alice|pro|DE\n"
           "u2|bob|free|\\N\n");
}

AK_TEST(seed_transform)
{
    fx_db_t db;
    seed_db(&db);
    AK_CHECK_STR(fx_run(&db, SEED_SQL, 0),
                 "u1|alice|pro|DE|1|2026-11-01T10:00:59Z|2026-11-01T10:01:30Z|31|2|/Z|/b|NULL\n"
                 "u1|alice|pro|DE|2|2026-11-01T10:32:00Z|2026-11-01T10:32:00Z|0|1|/a|/a|r1\n"
                 "u2|bob|free|NULL|1|2026-11-01T10:00:00Z|2026-11-01T10:30:59.999Z|1859|2|/x|/y|r2\n"
                 "u3|NULL|NULL|NULL|1|2026-11-01T09:00:00Z|2026-11-01T09:00:00Z|0|2|/p|/q|NULL\n"
                 "NULL|NULL|NULL|NULL|1|2026-11-01T08:00:00Z|2026-11-01T08:00:00Z|0|1|/n1|/n1|NULL\n"
                 "NULL|NULL|NULL|NULL|2|2026-11-01T09:00:00Z|2026-11-01T09:00:00Z|0|1|/n2|/n2|NULL\n");
    fx_free(&db);
}

AK_TEST(seed_checks_and_queries)
{
    fx_db_t db;
    seed_db(&db);
    fx_add(&db, "user_sessions",
           "user_id:TEXT,country:TEXT,session_start:TIMESTAMP,session_end:TIMESTAMP,session_duration_seconds:BIGINT,page_views:BIGINT,landing_page:TEXT\n"
           "u1|DE|2026-11-18 10:00:00|2026-11-18 10:20:00|1200|5|/a\n"
           "u2|\\N|2026-11-18 11:00:00|2026-11-18 11:05:00|300|2|/b\n"
           "u3|DE|2026-11-17 11:00:00|2026-11-17 11:05:00|300|2|/c\n"
           "\\N|US|2026-11-18 09:00:00|2026-11-18 09:00:00|0|1|/d\n");
    db.this_table = "user_sessions";
    int64_t now;
    ak_ts_parse("2026-11-18T11:10:00Z", 20, &now);
    AK_CHECK_STR(fx_run(&db, "SELECT COUNT(*) FROM {{ this }} WHERE user_id IS NULL", now), "1\n");
    AK_CHECK_STR(fx_run(&db, "SELECT COUNT(*) FROM {{ this }} WHERE session_duration_seconds < 0", now), "0\n");
    AK_CHECK_STR(fx_run(&db, "SELECT DATEDIFF('minute', MAX(session_end), CURRENT_TIMESTAMP()) FROM {{ this }}", now), "5\n");
    AK_CHECK_STR(fx_run(&db, "SELECT CASE\nWHEN COUNT(*) < 100 AND EXTRACT(HOUR FROM CURRENT_TIMESTAMP()) BETWEEN 8 AND 22\nTHEN 1 ELSE 0 END\nFROM {{ this }}\nWHERE session_start >= CURRENT_DATE()\n", now), "1\n");
    AK_CHECK_STR(fx_run(&db, "\nSELECT country, COUNT(*) AS sessions, AVG(session_duration_seconds) AS avg_duration\n"
                             "FROM user_sessions\nWHERE session_start >= CURRENT_DATE()\nGROUP BY country\nORDER BY sessions DESC\nLIMIT 10\n", now),
                 "DE|1|1200.0\nNULL|1|300.0\nUS|1|0.0\n");
    AK_CHECK_STR(fx_run(&db, "SELECT session_start, session_end, page_views, landing_page FROM user_sessions WHERE user_id = 'u1' ORDER BY session_start DESC LIMIT 5", now),
                 "2026-11-18T10:00:00Z|2026-11-18T10:20:00Z|5|/a\n");
    fx_free(&db);
}

AK_TEST(window_functions)
{
    fx_db_t db = {0};
    fx_add(&db, "t", "g:TEXT,x:BIGINT,v:BIGINT\n"
                     "a|1|10\na|2|20\na|2|30\na|3|\\N\nb|1|5\n");
    AK_CHECK_STR(fx_run(&db, "SELECT g, x, SUM(v) OVER (PARTITION BY g ORDER BY x), ROW_NUMBER() OVER (PARTITION BY g ORDER BY x, v), "
                             "RANK() OVER (PARTITION BY g ORDER BY x), DENSE_RANK() OVER (PARTITION BY g ORDER BY x) FROM t ORDER BY g, x, v", 0),
                 "a|1|10|1|1|1\na|2|60|2|2|2\na|2|60|3|2|2\na|3|60|4|4|3\nb|1|5|1|1|1\n");
    AK_CHECK_STR(fx_run(&db, "SELECT x, LAG(v) OVER w, LEAD(v, 1, -1) OVER w, FIRST_VALUE(v) OVER w, "
                             "SUM(v) OVER (w ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), COUNT(*) OVER (PARTITION BY g) "
                             "FROM t WHERE g = 'a' WINDOW w AS (PARTITION BY g ORDER BY x, v) ORDER BY x, v", 0),
                 "1|NULL|20|10|10|4\n2|10|30|10|30|4\n2|20|NULL|10|50|4\n3|30|-1|10|30|4\n");
    AK_CHECK_STR(fx_run(&db, "SELECT x, SUM(x) OVER (ORDER BY x RANGE BETWEEN 1 PRECEDING AND CURRENT ROW) FROM t WHERE g='a' ORDER BY x, v", 0),
                 "1|1\n2|5\n2|5\n3|7\n");
    AK_CHECK_STR(fx_run(&db, "SELECT g, NTILE(2) OVER (ORDER BY x, v), PERCENT_RANK() OVER (ORDER BY x) FROM t ORDER BY x, v, g", 0),
                 "b|1|0.0\na|1|0.0\na|1|0.5\na|2|0.5\na|2|1.0\n");
    fx_free(&db);
}

AK_TEST(grouping_and_joins)
{
    fx_db_t db = {0};
    fx_add(&db, "p", "id:BIGINT,cur:TEXT,amount:BIGINT,status:TEXT,t:TIMESTAMP\n"
                     "1|EUR|100|succeeded|2026-11-01 10:00:10\n"
                     "2|EUR|250|failed|2026-11-01 10:00:50\n"
                     "3|USD|300|succeeded|2026-11-01 10:01:00\n"
                     "4|EUR|50|succeeded|2026-11-01 10:01:30\n"
                     "5|\\N|70|succeeded|2026-11-01 10:01:40\n");
    fx_add(&db, "c", "id:BIGINT,name:TEXT\n1|one\n3|three\n9|nine\n");
    AK_CHECK_STR(fx_run(&db, "SELECT DATE_TRUNC('minute', t) AS w, cur, COUNT(*), SUM(amount), COUNT(DISTINCT status), "
                             "SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END)::FLOAT / COUNT(*) AS rate "
                             "FROM p GROUP BY 1, 2 ORDER BY w, cur NULLS FIRST", 0),
                 "2026-11-01T10:00:00Z|EUR|2|350|2|0.5\n2026-11-01T10:01:00Z|NULL|1|70|1|1.0\n"
                 "2026-11-01T10:01:00Z|EUR|1|50|1|1.0\n2026-11-01T10:01:00Z|USD|1|300|1|1.0\n");
    AK_CHECK_STR(fx_run(&db, "SELECT p.id, c.name FROM p LEFT JOIN c ON p.id = c.id ORDER BY p.id", 0),
                 "1|one\n2|NULL\n3|three\n4|NULL\n5|NULL\n");
    AK_CHECK_STR(fx_run(&db, "SELECT c.id, COUNT(p.id) FROM p RIGHT JOIN c USING (id) GROUP BY c.id ORDER BY 1", 0),
                 "1|1\n3|1\n9|0\n");
    AK_CHECK_STR(fx_run(&db, "SELECT COUNT(*) FROM p FULL JOIN c ON p.id = c.id", 0), "6\n");
    AK_CHECK_STR(fx_run(&db, "SELECT cur, MAX(amount) FROM p GROUP BY cur HAVING COUNT(*) > 1", 0), "EUR|250\n");
    AK_CHECK_STR(fx_run(&db, "SELECT id FROM p WHERE id IN (SELECT id FROM c) ORDER BY id DESC", 0), "3\n1\n");
    AK_CHECK_STR(fx_run(&db, "SELECT (SELECT MAX(id) FROM c), COUNT(*) FROM p WHERE t >= TIMESTAMP '2026-11-01 10:01:00' - INTERVAL '1 minute'", 0), "9|5\n");
    AK_CHECK_STR(fx_run(&db, "SELECT id FROM p WHERE t >= '2026-11-01 10:01:00' AND cur IS NOT NULL ORDER BY amount DESC LIMIT 1 OFFSET 1", 0), "4\n");
    AK_CHECK_STR(fx_run(&db, "SELECT id FROM c UNION SELECT id FROM p EXCEPT SELECT 9 ORDER BY 1", 0), "1\n2\n3\n4\n5\n");
    AK_CHECK_STR(fx_run(&db, "SELECT COUNT(*), SUM(amount), MIN(cur), AVG(amount) FROM p WHERE id > 100", 0), "0|NULL|NULL|NULL\n");
    fx_free(&db);
}

AK_TEST(semantics)
{
    fx_db_t db = {0};
    AK_CHECK_STR(fx_run(&db, "SELECT 1/2, 7//2, -7//2, -7 % 3, 1/0, 1//0, 2.5::INTEGER, (-2.5)::INTEGER, '1.5'::INTEGER", 0),
                 "0.5|3|-3|-1|inf|NULL|3|-3|2\n");
    AK_CHECK_STR(fx_run(&db, "SELECT 'Z' < 'a', NULL = NULL, NULL IS NULL, 1 IN (2, NULL), 1 IN (1, NULL), 'abc' LIKE 'a%', 'aBc' ILIKE 'ab_'", 0),
                 "true|NULL|true|NULL|true|true|true\n");
    AK_CHECK_STR(fx_run(&db, "SELECT DATEDIFF('minute', TIMESTAMP '2026-11-01 10:00:59', TIMESTAMP '2026-11-01 10:31:00'), "
                             "date_sub('minute', TIMESTAMP '2026-11-01 10:00:59', TIMESTAMP '2026-11-01 10:31:00'), "
                             "EXTRACT(HOUR FROM TIMESTAMP '2026-11-01 10:00:00'), DATE '2026-11-01' + 1, "
                             "CAST('2026-11-01T10:00:00Z' AS TIMESTAMP)::DATE", 0),
                 "31|30|10|2026-11-02|2026-11-01\n");
    AK_CHECK_STR(fx_run(&db, "SELECT COALESCE(NULL, 2, 3), NULLIF(1, 1), GREATEST(1, NULL, 3), LOWER('AbC'), LENGTH('héllo'), SUBSTR('hello', 2, 3), 'a' || 1", 0),
                 "2|NULL|3|abc|5|ell|a1\n");
    AK_CHECK_STR(fx_run(&db, "SELECT 9223372036854775807 + 1", 0), "ERROR: overflow in addition of BIGINT (9223372036854775807 and 1)");
    fx_free(&db);
}

AK_TEST(aliases_using_exclude)
{
    fx_db_t db = {0};
    fx_add(&db, "a", "k:BIGINT,x:TEXT\n1|one\n2|two\n");
    fx_add(&db, "b", "k:BIGINT,y:TEXT\n2|deux\n3|trois\n");
    AK_CHECK_STR(fx_run(&db, "WITH w(p, q) AS (SELECT 1, 2) SELECT p + q FROM w", 0), "3\n");
    AK_CHECK_STR(fx_run(&db, "SELECT t.m FROM (SELECT 5, 6) AS t(m, n)", 0), "5\n");
    AK_CHECK_STR(fx_run(&db, "SELECT * FROM a JOIN b USING (k)", 0), "2|two|deux\n");
    AK_CHECK_STR(fx_run(&db, "SELECT * EXCLUDE (x) FROM a ORDER BY k", 0), "1\n2\n");
    AK_CHECK_STR(fx_run(&db, "SELECT k FROM a NATURAL JOIN b", 0), "2\n");
    AK_CHECK_STR(fx_run(&db, "SELECT 1 FROM a JOIN b USING k", 0),
                 "ERROR: test.sql:1:30: expected `(` after USING, found `k`");
    fx_free(&db);
}

AK_TEST(errors_have_positions)
{
    fx_db_t db;
    seed_db(&db);
    AK_CHECK_STR(fx_run(&db, "SELECT page_urll FROM clickstream", 0),
                 "ERROR: test.sql:1:8: column `page_urll` not found; did you mean `page_url`?");
    AK_CHECK_STR(fx_run(&db, "SELECT user_id, COUNT(*) FROM clickstream", 0),
                 "ERROR: test.sql:1:8: column `user_id` must appear in the GROUP BY clause or be used in an aggregate function");
    AK_CHECK_STR(fx_run(&db, "SELECT *\nFROM nope", 0), "ERROR: test.sql:2:6: table `nope` not found");
    AK_CHECK_STR(fx_run(&db, "SELECT FROM clickstream", 0), "ERROR: test.sql:1:8: expected an expression, found `FROM`");
    AK_CHECK_STR(fx_run(&db, "SELECT 1 FROM {{ ref('nothere') }}", 0),
                 "ERROR: test.sql:1:15: {{ ref('nothere') }}: no input named `nothere` is declared");
    AK_CHECK_STR(fx_run(&db, "SELECT DATEDIFF('mi', event_time, event_time) FROM clickstream", 0),
                 "ERROR: test.sql:1:8: datediff(): unknown unit 'mi' (use microsecond, millisecond, second, minute, hour, day, week, month, quarter, year, decade, century or millennium)");
    AK_CHECK_STR(fx_run(&db, "DELETE FROM clickstream", 0),
                 "ERROR: test.sql:1:1: expected SELECT or WITH, found `DELETE` (only queries are supported)");
    fx_free(&db);
}

AK_TEST(used_columns)
{
    fx_db_t db;
    seed_db(&db);
    ak_sql_env_t env = {fx_resolve, &db, 0, "t.sql", 1};
    ak_sql_stmt_t *st;
    ak_err_t err;
    AK_CHECK(ak_sql_prepare(SEED_SQL, strlen(SEED_SQL), &env, &st, &err) == 0);
    const ak_sql_scan_info_t *si;
    int n;
    ak_sql_stmt_scans(st, &si, &n);
    AK_CHECK_EQ_INT(n, 2);
    AK_CHECK_STR(si[0].name, "clickstream");
    AK_CHECK_EQ_INT(si[0].kind, AK_SQL_REF);
    AK_CHECK(si[0].used[0] && si[0].used[1] && si[0].used[2] && si[0].used[3]);
    AK_CHECK_STR(si[1].name, "user_profiles");
    AK_CHECK(si[1].used[0] && si[1].used[1] && si[1].used[2] && si[1].used[3]);
    ak_sql_stmt_free(st);
    fx_add(&db, "wide", "a:TEXT,b:TEXT,c:TEXT\nx|y|z\n");
    const char *q = "SELECT a FROM wide WHERE c = 'z'";
    AK_CHECK(ak_sql_prepare(q, strlen(q), &env, &st, &err) == 0);
    ak_sql_stmt_scans(st, &si, &n);
    AK_CHECK(n == 1 && si[0].used[0] && !si[0].used[1] && si[0].used[2]);
    ak_sql_stmt_free(st);
    q = "SELECT * FROM wide";
    AK_CHECK(ak_sql_prepare(q, strlen(q), &env, &st, &err) == 0);
    ak_sql_stmt_scans(st, &si, &n);
    AK_CHECK(n == 1 && si[0].used[0] && si[0].used[1] && si[0].used[2]);
    ak_sql_stmt_free(st);
    fx_free(&db);
}

AK_TEST(seed_002_materialized_view_and_api_query)
{
    /* the second seed's SQL verbatim (the SELECT of the materialized view and
     * the API query over it); expected values read off DuckDB 1.5.6 */
    fx_db_t db = {0};
    fx_add(&db, "payments_realtime",
           "created_at:TIMESTAMP,currency:TEXT,amount:BIGINT,customer_id:TEXT,status:TEXT\n"
           "2026-11-18 10:00:10|EUR|1000|c1|succeeded\n"
           "2026-11-18 10:00:40|EUR|2500|c2|failed\n"
           "2026-11-18 10:00:50|EUR|700|c1|succeeded\n"
           "2026-11-18 10:01:05|USD|300|c3|succeeded\n"
           "2026-11-18 10:01:30|EUR|50|c1|pending\n"
           "2026-11-16 09:00:00|EUR|999|c9|succeeded\n");
    int64_t now;
    ak_ts_parse("2026-11-18T10:05:00Z", 20, &now);
    const char *mv = "SELECT\n    DATE_TRUNC('minute', created_at) AS minute_window,\n    currency,\n"
                     "    COUNT(*) AS transaction_count,\n    SUM(amount) AS total_amount,\n    AVG(amount) AS avg_amount,\n"
                     "    COUNT(DISTINCT customer_id) AS unique_customers,\n"
                     "    SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END)::FLOAT\n        / COUNT(*) AS success_rate\n"
                     "FROM payments_realtime\nWHERE created_at >= NOW() - INTERVAL '24 hours'\nGROUP BY 1, 2\nORDER BY 1, 2";
    AK_CHECK_STR(fx_run(&db, mv, now), "2026-11-18T10:00:00Z|EUR|3|4200|1400.0|2|0.6666667\n"
                                       "2026-11-18T10:01:00Z|EUR|1|50|50.0|1|0.0\n"
                                       "2026-11-18T10:01:00Z|USD|1|300|300.0|1|1.0\n");
    /* the API query reads the view's rows */
    fx_add(&db, "mv_payment_metrics",
           "minute_window:TIMESTAMP,currency:TEXT,transaction_count:BIGINT,total_amount:BIGINT,success_rate:FLOAT\n"
           "2026-11-18 10:00:00|EUR|3|4200|0.6666667\n2026-11-18 10:01:00|EUR|1|50|0\n2026-11-18 10:01:00|USD|1|300|1\n");
    const char *api = "SELECT\n    minute_window,\n    SUM(transaction_count) AS transactions,\n    SUM(total_amount) AS revenue,\n"
                      "    AVG(success_rate) AS avg_success_rate\nFROM mv_payment_metrics\n"
                      "WHERE minute_window >= NOW() - INTERVAL '1 hour'\nGROUP BY minute_window\nORDER BY minute_window DESC";
    AK_CHECK_STR(fx_run(&db, api, now), "2026-11-18T10:01:00Z|2|350|0.5\n2026-11-18T10:00:00Z|3|4200|0.6666666865348816\n");
    fx_free(&db);
}

int main(void) { return ak_test_main(); }
