"""The Redis connection of every worker Job, and the check that this Redis never evicts keys."""

from __future__ import annotations

import logging
import os

import redis

from ..contract.exit_codes import PermanentFailure, RetriableFailure
from ..contract.settings import redis_location
from ..contract.tasks import RedisConnection

log = logging.getLogger("eventreplay.worker")


def _from_env(env: str | None, what: str) -> str | None:
    if not env:
        return None
    value = os.environ.get(env)
    if value is None:
        raise PermanentFailure(f"env var {env} ({what} from a Secret) is not set")
    return value


def connect_redis(spec: RedisConnection, *, check_eviction: bool = True) -> redis.Redis:
    password = _from_env(spec.password_env, "Redis password")
    username = _from_env(spec.username_env, "Redis ACL user")
    try:
        client = redis.Redis.from_url(
            spec.redis_url, username=username, password=password, socket_timeout=30, socket_connect_timeout=10
        )
        client.ping()
    except redis.AuthenticationError as err:
        raise PermanentFailure(f"Redis at {redis_location(spec.redis_url)} refused the credentials") from err
    except (redis.ConnectionError, redis.TimeoutError) as err:
        raise RetriableFailure(f"cannot reach Redis at {redis_location(spec.redis_url)}: {err}") from err
    if check_eviction:
        check_no_eviction(client, redis_location(spec.redis_url))
    return client


def check_no_eviction(client: redis.Redis, where: str) -> None:
    """Refuse a Redis that may evict keys: an evicted ledger bucket silently lets duplicates through.

    `volatile-*` policies evict exactly the keys that carry a TTL, and every ledger bucket does; only
    `noeviction` (or no memory limit at all) is safe. Where INFO is not allowed (managed Redis, ACLs),
    the worker cannot tell and says so in its log.
    """
    try:
        memory = client.info("memory")
    except redis.ResponseError as err:
        log.warning("cannot check the eviction policy of Redis at %s (%s): it must be noeviction", where, err)
        return
    policy = str(memory.get("maxmemory_policy", "noeviction"))
    if policy != "noeviction" and int(memory.get("maxmemory", 0) or 0) > 0:
        raise PermanentFailure(
            f"Redis at {where} evicts keys under memory pressure (maxmemory-policy {policy}): an evicted "
            "ledger bucket would let duplicates through; set maxmemory-policy noeviction"
        )
