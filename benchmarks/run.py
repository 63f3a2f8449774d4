"""Run every benchmark: ``make bench``."""

from __future__ import annotations

import platform
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_alter
import bench_apply
import bench_foreign_keys
import bench_generate
import bench_noop_migrate
import bench_postgres
import bench_scale
import bench_schema_dump
import bench_watch
from harness import compile_kitgen


def main() -> None:
    print(
        f"kitgen benchmarks, {date.today()}, Python {platform.python_version()}, {platform.machine()}, "
        f"{platform.processor() or platform.system()}"
    )
    compile_kitgen()
    bench_noop_migrate.main()
    bench_scale.main()
    bench_apply.main()
    bench_alter.main()
    bench_foreign_keys.main()
    bench_generate.main()
    bench_watch.main()
    bench_schema_dump.main()
    bench_postgres.main()


if __name__ == "__main__":
    main()
