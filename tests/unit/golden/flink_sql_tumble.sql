-- EventReplay ns/per-minute: plan 0000000000000000 (100 records of orders, as of 2026-11-20T12:00:00.000Z)
-- as a Flink SQL job (Flink 2.x, flink-connector-kafka). Differences from the replay:
--  * no de-duplication by event id: add a deduplication query if the source repeats ids;
--  * the watermark is shared by the partitions a source subtask reads (the replay judges each
--    partition on its own), and late rows are dropped rather than counted;
--  * allowed lateness (0 s) needs table.exec.emit.allow-lateness
--    and early/late firing options in Flink; results are written by upsert, not reconciled.
SET 'table.local-time-zone' = 'UTC';

CREATE TABLE source_events (
  `at` BIGINT,
  `amount` BIGINT,
  event_time AS TO_TIMESTAMP_LTZ(`at`, 3),
  WATERMARK FOR event_time AS event_time
) WITH (
  'connector' = 'kafka',
  'topic' = 'orders',
  'properties.bootstrap.servers' = 'k:9092',
  'properties.group.id' = 'eventreplay-flink-ns-per-minute',
  'properties.isolation.level' = 'read_committed',
  'scan.startup.mode' = 'specific-offsets',
  'scan.startup.specific-offsets' = 'partition:0,offset:0',
  'scan.bounded.mode' = 'specific-offsets',
  'scan.bounded.specific-offsets' = 'partition:0,offset:100',
  'format' = 'json',
  'json.ignore-parse-errors' = 'true'
);

CREATE TABLE window_results (
  id STRING,
  windowStart STRING,
  windowEnd STRING,
  `key` STRING,
  `n` BIGINT,
  `top` BIGINT,
  PRIMARY KEY (id) NOT ENFORCED
) WITH (
  'connector' = 'upsert-kafka',
  'topic' = 'orders-out',
  'properties.bootstrap.servers' = 'k:9092',
  'key.format' = 'raw',
  'value.format' = 'json'
);

INSERT INTO window_results
SELECT
  CONCAT(DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''), '|', '') AS id,
  DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') AS windowStart,
  DATE_FORMAT(window_end, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') AS windowEnd,
  '' AS `key`,
  COUNT(*) AS `n`,
  MAX(`amount`) AS `top`
FROM TABLE(TUMBLE(TABLE source_events, DESCRIPTOR(event_time), INTERVAL '60' SECOND))
GROUP BY window_start, window_end;
