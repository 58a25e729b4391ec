"""The one reward a training loop should use: a scalar from a verdict, documented here and in
the README.

    reward = 0                                       unless the verdict is a clean win
                                                     (outcome ok and no flag; caveats allowed)
    reward = correct                                 a clean win that was not timed
    reward = max(floor, correct + per_doubling * clip(log2(S), -cap, cap))   otherwise

S is the lower bound of the speedup's 95% confidence interval (`speedup=lower`, the default:
a noisy measurement earns only what it shows) or the median speedup (`speedup=median`). With
the defaults a kernel as fast as the reference earns 1, twice as fast 2, 16x or more 5, and any
correct, honest kernel at least 0.1, so correctness alone always beats every failure.
"""
from __future__ import annotations

import math
from typing import Optional

from .config import RewardCfg, RewardSpeedup
from .verdict import Verdict


def reward(v: Verdict, cfg: Optional[RewardCfg] = None) -> float:
    cfg = cfg or RewardCfg()
    try:   # OmegaConf checks a config's value; a RewardCfg made in code is checked here
        lower = RewardSpeedup(cfg.speedup) is RewardSpeedup.lower
    except ValueError:
        raise ValueError(f"reward.speedup={cfg.speedup!r}: expected lower or median") from None
    if not v.win:
        return 0.0
    if v.timing is None:
        return float(cfg.correct)
    s = v.timing.speedup_ci[0] if lower else v.timing.speedup
    doublings = math.log2(s) if s > 0 else -math.inf
    if math.isnan(doublings):
        doublings = -math.inf
    return float(max(cfg.floor, cfg.correct + cfg.per_doubling * min(max(doublings, -cfg.cap), cfg.cap)))
