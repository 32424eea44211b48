"""Servers the service benchmarks start (``beatgrid serve`` and others in their own
processes on free ports) and the binned assignment their drafts are made from.

Used by ``bench_service.py`` and ``bench_planner.py``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A server process (``{port}`` in ``cmd`` is replaced by a free port)."""

    name: str
    cmd: list[str]
    env: dict[str, str] | None = None
    health: str = "/health"
    url: str = ""
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        import httpx

        port = free_port()
        self.proc = subprocess.Popen([c.replace("{port}", str(port)) for c in self.cmd],
                                     cwd=ROOT, env={**os.environ, **(self.env or {})},
                                     stdout=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + self.health, timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"server {self.name} exited with {self.proc.returncode}")
            time.sleep(0.2)
        raise RuntimeError(f"server {self.name} did not answer GET {self.health} in 300 s")

    def usage(self) -> tuple[float, float]:
        """Resident memory (MB) and CPU seconds so far of the server process."""
        import psutil

        assert self.proc is not None
        p = psutil.Process(self.proc.pid)
        cpu = p.cpu_times()
        return float(p.memory_info().rss) / 2**20, float(cpu.user + cpu.system)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def editing_server(name: str, target: str, schema: str | None = None) -> Server:
    """``beatgrid serve`` as a planner runs it (local mode: no sign-in)."""
    where = ["--database-url", target, "--schema", schema] if schema else ["--project", target]
    return Server(name, [sys.executable, "-m", "beatgrid.api.cli", "serve", *where,
                         "--port", "{port}", "--auth", "local"])


def binned_assignment(project: Any, community_id: str, households: int = 400) -> str:
    """An assignment CSV putting buildings into square bins of about ``households``."""
    import pandas as pd

    bld = project.layer("buildings").to_crs(3857)
    bld = bld[bld["community_id"] == community_id]
    xy = np.c_[bld.geometry.centroid.x, bld.geometry.centroid.y]
    bins = max(1, int(round(np.sqrt(float(bld["households"].sum()) / households))))
    cell = (xy - xy.min(axis=0)) // ((xy.max(axis=0) - xy.min(axis=0)) / bins + 1e-9)
    grid = [f"{community_id}-B{int(a):02d}{int(b):02d}" for a, b in cell]
    return pd.DataFrame({"building_id": bld["id"], "grid_id": grid}).to_csv(index=False)
