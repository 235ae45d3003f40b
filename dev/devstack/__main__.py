"""`python -m devstack up|down|status|env [component ...]` (wrapped by dev/stack)."""

from __future__ import annotations

import argparse
import shlex
import sys

from . import config, procs, stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dev/stack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "env", "logs"])
    parser.add_argument("components", nargs="*", help="default: all, in start order")
    parser.add_argument("--purge", action="store_true", help="with down: delete data and logs too")
    args = parser.parse_args(argv)

    if args.command == "up":
        try:
            spent = stack.up(args.components)
        except procs.ComponentError as err:
            print(f"stack up failed: {err}", file=sys.stderr)
            return 1
        print(f"stack up in {sum(spent.values()):.1f}s; state in {config.state_dir()}")
        print('  eval "$(dev/stack env)"   # exports KUBECONFIG and the service addresses')
        return 0
    if args.command == "down":
        stack.down(args.components)
        if args.purge:
            import shutil

            shutil.rmtree(config.state_dir(), ignore_errors=True)
        return 0
    if args.command == "status":
        bad = 0
        for comp in stack.select(args.components):
            pid = comp.pid()
            ok = pid is not None and _safe_healthy(comp)
            bad += 0 if ok else 1
            state = "healthy" if ok else ("unhealthy" if pid else "stopped")
            print(f"{comp.name:<20} {state:<10} pid={pid or '-'}  log={procs.log_file(comp.name)}")
        return 1 if bad else 0
    if args.command == "logs":
        for comp in stack.select(args.components):
            print(f"==> {comp.name} <==\n{procs.log_tail(comp.name)}")
        return 0
    for key, value in stack.env().items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


def _safe_healthy(comp: object) -> bool:
    try:
        return bool(comp.healthy())  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - status must report, not crash
        return False


if __name__ == "__main__":
    sys.exit(main())
