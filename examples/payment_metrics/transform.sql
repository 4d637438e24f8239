-- 1-minute tumbling windows per currency over the last 24 hours
SELECT
    DATE_TRUNC('minute', created_at) AS minute_window,
    currency,
    COUNT(*) AS transaction_count,
    SUM(amount) AS total_amount,
    AVG(amount) AS avg_amount,
    COUNT(DISTINCT customer_id) AS unique_customers,
    SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END)::FLOAT
        / COUNT(*) AS success_rate
FROM {{ ref('payments_realtime') }}
WHERE created_at >= NOW() - INTERVAL '24 hours'
GROUP BY 1, 2
