"""Helm v4.2.3's engine side of `cargo bench -p helm --bench charts` (run by the bench with
the helm-python-sdk venv's Python; not meant to be run by hand).

Reads the case list (JSON: [{"name", "chart", "values_file", "release", "namespace"}]) from the
file named by argv[1] and the timing settings from argv[2] (JSON: {"min_time", "min_iters",
"max_iters"}); for every case measures loading the chart afresh plus `Chart.render` (the
engine's per-file output, as Helm's `helm template` computes it before sorting) and prints one
JSON line per case, then a final line with the process's memory figures.
"""

import json
import resource
import sys
import time

import helm_python as helm


def cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def vm_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def once(case: dict, values: dict) -> str | None:
    """Load + render; returns the error text if Helm fails (timed all the same)."""
    try:
        chart = helm.Chart.load(case["chart"])
    except Exception as e:  # noqa: BLE001 - every load failure is a result here
        return str(e)
    try:
        chart.render(values, name=case["release"], namespace=case["namespace"])
        return None
    except Exception as e:  # noqa: BLE001
        return str(e)
    finally:
        chart.close()


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    settings = json.loads(sys.argv[2])
    baseline = vm_kib("VmRSS")
    for case in cases:
        values = {}
        if case.get("values_file"):
            with open(case["values_file"], encoding="utf-8") as f:
                values = helm.values_from_yaml(f.read())
        error = once(case, values)  # warm-up, untimed
        walls = []
        cpu0 = cpu_seconds()
        start = time.perf_counter()
        while len(walls) < settings["max_iters"] and (
            len(walls) < settings["min_iters"]
            or time.perf_counter() - start < settings["min_time"]
        ):
            t0 = time.perf_counter()
            once(case, values)
            walls.append(time.perf_counter() - t0)
        cpu = (cpu_seconds() - cpu0) / len(walls)
        walls.sort()
        print(
            json.dumps(
                {
                    "name": case["name"],
                    "iters": len(walls),
                    "min": walls[0],
                    "median": walls[len(walls) // 2],
                    "cpu": cpu,
                    "error": error,
                }
            ),
            flush=True,
        )
    print(
        json.dumps(
            {"baseline_rss_kib": baseline, "peak_rss_kib": vm_kib("VmHWM")}
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
