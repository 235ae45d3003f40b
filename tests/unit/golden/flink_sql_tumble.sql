-- EventReplay ns/per-minute: plan 0000000000000000 (100 records of orders, as of 2026-11-20T12:00:00.000Z)
-- as a Flink SQL batch job (Flink 2.x, flink-connector-kafka) writing the results into eventreplay.ns.per-minute.446746610b9a943e.results.
-- Event times read: JSON number: epoch milliseconds (a fraction is cut); ISO 8601 string with a zone: YYYY-MM-DD[T ]HH:MM[:SS[.fraction]] then Z, +HH, +HHMM or +HH:MM.
-- Same as the combine Job: first copy of an id in log order, lateness per partition in offset order
-- (window end + allowed lateness <= the partition's largest earlier event time: left out), only
-- windows overlapping the replay window, those a partition read to the log's head leaves open left out.
-- Differences from the replay:
--  * no validation beyond the event id (jsonSchema and model checks are the replay's; Flink's JSON
--    format reads a value of another type as NULL or as text), and a JSON string of digits is an epoch-ms
--    event time here (the worker leaves it out); ISO 8601 basic and week forms have no event time here;
--  * a repeated id across partitions: the replay keeps the copy its workers met first (a race), this
--    job the copy in the lowest partition; within a partition both keep the lowest offset;
--  * a `number` field sums as DOUBLE (3.0, where the replay writes 3 when every value is an integer);
--  * results go to Kafka's default partition of their key (the combine Job: crc32 of the key), and
--    a retried job appends again (the combine Job writes once, in one transaction).
SET 'table.local-time-zone' = 'UTC';
SET 'execution.runtime-mode' = 'batch';

CREATE TABLE source_events (
  `event_id` STRING,
  `at` BIGINT,
  `amount` BIGINT,
  `partition` INT METADATA VIRTUAL,
  `offset` BIGINT METADATA VIRTUAL
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

CREATE TABLE replay_results (
  id STRING,
  windowStart STRING,
  windowEnd STRING,
  `key` STRING,
  `n` BIGINT,
  `top` BIGINT,
  headers MAP<STRING, BYTES> METADATA
) WITH (
  'connector' = 'kafka',
  'topic' = 'eventreplay.ns.per-minute.446746610b9a943e.results',
  'properties.bootstrap.servers' = 'k:9092',
  'key.format' = 'raw',
  'key.fields' = 'id',
  'value.format' = 'json',
  'value.fields-include' = 'ALL'
);

-- The ledger keeps the first copy of an id: the first in the log (partition, then offset).
CREATE TEMPORARY VIEW first_copies AS
SELECT * FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY `event_id` ORDER BY `partition`, `offset`) AS copy_number
  FROM source_events WHERE `event_id` <> ''
) WHERE copy_number = 1;

CREATE TEMPORARY VIEW timed AS
SELECT *, CAST(`at` AS BIGINT) AS event_ms
FROM first_copies;

-- Each partition's watermark before an event: the largest event time before it in offset order.
CREATE TEMPORARY VIEW watermarked AS
SELECT *, MAX(event_ms) OVER (PARTITION BY `partition` ORDER BY `offset`
  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS watermark_ms
FROM timed WHERE event_ms IS NOT NULL;

-- Every window holding the event (starts at multiples of the slide) that its watermark has not closed.
CREATE TEMPORARY VIEW assigned AS
SELECT *, last_start - CAST(k AS BIGINT) * 60000 AS window_start FROM (
  SELECT *, event_ms - MOD(MOD(event_ms, 60000) + 60000, 60000) AS last_start
  FROM watermarked
) CROSS JOIN (VALUES (0)) AS steps(k)
WHERE watermark_ms IS NULL OR last_start - CAST(k AS BIGINT) * 60000 + 60000 > watermark_ms;

INSERT INTO replay_results
SELECT
  CONCAT(DATE_FORMAT(TO_TIMESTAMP_LTZ(window_start, 3), 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''), '|', '') AS id,
  DATE_FORMAT(TO_TIMESTAMP_LTZ(window_start, 3), 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') AS windowStart,
  DATE_FORMAT(TO_TIMESTAMP_LTZ(window_start + 60000, 3), 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') AS windowEnd,
  '' AS `key`,
  COUNT(*) AS `n`,
  MAX(`amount`) AS `top`,
  MAP['er-replay-uid', CAST('3f2a9c1e-0000-4000-8000-000000000001' AS BYTES)] AS headers
FROM assigned
GROUP BY window_start;
