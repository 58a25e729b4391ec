"""What "close enough" means for one dtype: a type of its own, so the workers that compare
outputs (which import no config machinery) and the config that sets the defaults share it."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping


@dataclass
class Tol:
    """Pass iff |out-ref| <= atol + rtol*|ref| everywhere AND ||out-ref||/||ref|| <= max_rel_norm.

    The elementwise test catches wrong indices; the norm test catches lowered precision, which
    an elementwise tolerance loose enough for honest reordering would let through.
    """
    atol: float = 1e-3
    rtol: float = 1e-3
    max_rel_norm: float = 1e-4


def to_table(tolerances: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Plain data for the worker channel (config gives Tol or OmegaConf nodes)."""
    return {str(k): {f.name: float(getattr(v, f.name)) for f in dataclasses.fields(Tol)}
            for k, v in tolerances.items()}


def from_table(table: Mapping[str, Mapping[str, float]]) -> dict[str, Tol]:
    return {k: Tol(**dict(v)) for k, v in table.items()}
