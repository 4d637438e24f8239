-- Sessionize clickstream events
-- A session ends after 30 minutes of inactivity
WITH ordered_events AS (
    SELECT
        e.user_id,
        e.page_url,
        e.referrer_url,
        e.event_time,
        LAG(e.event_time) OVER (
            PARTITION BY e.user_id
            ORDER BY e.event_time
        ) AS prev_event_time
    FROM {{ ref('clickstream') }} e
),
session_boundaries AS (
    SELECT
        *,
        CASE
            WHEN prev_event_time IS NULL
                OR DATEDIFF('minute', prev_event_time, event_time) > 30
            THEN 1
            ELSE 0
        END AS is_new_session
    FROM ordered_events
),
session_ids AS (
    SELECT
        *,
        SUM(is_new_session) OVER (
            PARTITION BY user_id
            ORDER BY event_time
        ) AS session_num
    FROM session_boundaries
)
SELECT
    s.user_id,
    u.username,
    u.account_type,
    u.country,
    s.session_num,
    MIN(s.event_time) AS session_start,
    MAX(s.event_time) AS session_end,
    DATEDIFF('second', MIN(s.event_time), MAX(s.event_time)) AS session_duration_seconds,
    COUNT(*) AS page_views,
    MIN(s.page_url) AS landing_page,
    MAX(s.page_url) AS exit_page,
    MIN(s.referrer_url) AS entry_referrer
FROM session_ids s
LEFT JOIN {{ ref('user_profiles') }} u ON s.user_id = u.user_id
GROUP BY s.user_id, u.username, u.account_type, u.country, s.session_num
