"""Which device a run uses, asked of a short-lived child so the runner never initialises CUDA."""
from __future__ import annotations

import functools
import json
import platform
import subprocess
import sys
from dataclasses import dataclass

from .errors import UserError

_PROBE = r"""
import json, platform, torch
info = {"torch": torch.__version__, "cuda": torch.version.cuda, "count": 0, "names": []}
if torch.cuda.is_available():
    info["count"] = torch.cuda.device_count()
    info["names"] = [torch.cuda.get_device_name(i) for i in range(info["count"])]
print(json.dumps(info))
"""


class DeviceError(UserError):
    pass


@dataclass(frozen=True)
class DeviceInfo:
    device: str        # cpu | cuda:N
    name: str          # "NVIDIA H200", or the CPU model
    torch: str
    cuda: str
    count: int         # CUDA devices visible

    @property
    def hardware(self) -> str:
        """The store's hardware key: what a timing was measured on."""
        return self.name if self.device != "cpu" else f"cpu:{self.name}"

    def versions(self, harness_version: str) -> dict[str, str]:
        return {"harness": harness_version, "torch": self.torch, "cuda": self.cuda or "",
                "python": platform.python_version()}


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.lru_cache(maxsize=None)
def _probe() -> dict:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise DeviceError(f"cannot query devices: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def resolve(device: str) -> DeviceInfo:
    """'auto' means CUDA when there is one, else the CPU."""
    info = _probe()
    if device == "auto":
        device = "cuda:0" if info["count"] else "cpu"
    if device == "cuda":
        device = "cuda:0"
    if device == "cpu":
        return DeviceInfo("cpu", _cpu_name(), info["torch"], info["cuda"] or "", info["count"])
    if not device.startswith("cuda:") or not device[5:].isdigit():
        raise DeviceError(f"device={device!r}: expected auto, cpu, cuda or cuda:N")
    idx = int(device[5:])
    if idx >= info["count"]:
        raise DeviceError(f"device={device}: {info['count']} CUDA device(s) visible"
                          + ("" if info["count"] else " (use device=cpu)"))
    return DeviceInfo(device, info["names"][idx], info["torch"], info["cuda"] or "", info["count"])
