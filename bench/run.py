"""Run the benchmarks: `python bench/run.py [NAME...]` prints `name: value unit` lines.

Each benchmark module `bench/bench_<name>.py` defines `run() -> list[tuple[str, float, str]]`.
It runs in its own process, with Django set up on a throwaway data folder (a SQLite file in
a temporary directory, already migrated), so it never touches a real installation.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRUBBED = ("DATABASE_URL", "MEDOFFICE_REDIS_URL", "MEDOFFICE_FIELD_KEYS", "DJANGO_SETTINGS_MODULE")


def available() -> dict[str, Path]:
    return {path.stem.removeprefix("bench_"): path for path in sorted(HERE.glob("bench_*.py"))}


def _run_one(path: Path) -> int:
    """In the child process: set up Django on the throwaway folder, migrate, run, print."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, value, unit in module.run():
        print(f"{name}: {value:.6g} {unit}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _run_one(Path(args.child))
    benches = available()
    unknown = [name for name in args.names if name not in benches]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(benches)}",
            file=sys.stderr,
        )
        return 2
    failed = 0
    for name in args.names or list(benches):
        with tempfile.TemporaryDirectory(prefix=f"medoffice-bench-{name}-") as data:
            env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
            env.update(
                MEDOFFICE_DATA=data,
                DJANGO_SETTINGS_MODULE="medoffice.settings",
                MEDOFFICE_LOG_LEVEL="ERROR",
            )
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(benches[name])], env=env, check=False
            )
            if done.returncode:
                print(f"{name}: failed (exit {done.returncode})", file=sys.stderr)
                failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
