"""Enum-like knobs: OmegaConf rejects other values; a choice reads and crosses as its string."""
import json
import os
import threading

import pytest
from omegaconf import OmegaConf
from omegaconf.errors import ValidationError

from harness import channel
from harness.config import (BatchCfg, CacheMode, CompileMode, EvalCfg, LintCfg, Prestart,
                            config_hash)


def test_choices_are_validated_and_read_as_their_value():
    cfg = OmegaConf.structured(BatchCfg)
    cfg.timing.cache = "rotate"
    cfg.timing.compile_mode = "max_autotune"       # names: OmegaConf matches those
    assert cfg.timing.cache is CacheMode.rotate and cfg.timing.cache == "rotate"
    assert cfg.timing.compile_mode is CompileMode.max_autotune
    assert cfg.timing.compile_mode == "max-autotune"   # torch's own spelling is the value
    assert f"{cfg.timing.cache} / {cfg.prestart}" == "rotate / auto"
    assert cfg.prestart is Prestart.auto
    for key, value in [("timing.cache", "lukewarm"), ("prestart", "soon"), ("layout", "flat"),
                       ("format", "xml"), ("timing.compile_mode", "fast")]:
        with pytest.raises(ValidationError, match="expected one of"):
            OmegaConf.update(cfg, key, value)


def test_config_hash_reads_choices_as_strings():
    """A verdict's config hash must not change because a knob became an enum."""
    cfg = OmegaConf.structured(EvalCfg)
    plain = OmegaConf.to_container(cfg, resolve=True)
    plain["timing"]["cache"] = "cold"
    plain["timing"]["compile_mode"] = "default"
    plain["format"] = "text"
    assert config_hash(cfg) == config_hash(json.loads(json.dumps(plain)))


def test_a_choice_crosses_the_worker_channel_as_a_plain_string():
    r, w = os.pipe()
    t = threading.Thread(target=channel.send, args=(w, {"cache": CacheMode.cold}))
    t.start()
    try:
        msg = channel.read_message(r, None, 1 << 20)
    finally:
        t.join()
        os.close(r)
        os.close(w)
    assert msg == {"cache": "cold"} and type(msg["cache"]) is str


def test_lint_reads_the_eval_sections():
    lint, ev = OmegaConf.structured(LintCfg), OmegaConf.structured(EvalCfg)
    for section in ("check", "timing", "limits"):
        assert lint[section] == ev[section]
    OmegaConf.update(lint, "timing.cache", "warm")
    assert lint.timing.cache is CacheMode.warm
