"""Run every fuzz target in this folder for a short, bounded time.

Each ``fuzz_<name>.py`` runs on a scratch copy of ``corpus/<name>/`` for
``FUZZ_SECONDS`` seconds (default 20); the seed corpus in the repository is
left as it is. Exits non-zero if any target finds an input that breaks its
invariant (libFuzzer then prints the input and writes it as ``crash-*``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    """Fuzz each target briefly; return the number of targets that failed."""
    seconds = int(os.environ.get("FUZZ_SECONDS", "20"))
    failed = 0
    for target in sorted(HERE.glob("fuzz_*.py")):
        name = target.stem.removeprefix("fuzz_")
        with tempfile.TemporaryDirectory(prefix=f"fuzz-{name}-") as scratch:
            corpus = Path(scratch) / "corpus"
            seeds = HERE / "corpus" / name
            if seeds.is_dir():
                shutil.copytree(seeds, corpus)
            else:
                corpus.mkdir()
            completed = subprocess.run(
                [
                    sys.executable,
                    str(target),
                    str(corpus),
                    f"-max_total_time={seconds}",
                    "-rss_limit_mb=2048",
                    "-timeout=10",
                    f"-artifact_prefix={scratch}/",
                    "-print_final_stats=1",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            lines = completed.stderr.strip().splitlines()
            runs = next(
                (ln.split()[-1] for ln in lines if "stat::number_of_executed_units" in ln), "?"
            )
            status = "ok" if completed.returncode == 0 else f"FAILED (exit {completed.returncode})"
            print(f"fuzz {name}: {status}, {runs} inputs in {seconds} s")
            if completed.returncode != 0:
                failed += 1
                print("\n".join(lines[-40:]))
                for crash in Path(scratch).glob("crash-*"):
                    print(f"  crashing input {crash.name}: {crash.read_bytes()[:500]!r}")
    return failed


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
