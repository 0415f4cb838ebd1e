"""Kernel generations: the table of rules is complete and each rule has its one home."""

from __future__ import annotations

import typing

from nvmesim.config.kernels import KERNELS, KernelName, KernelRules


def test_every_named_generation_has_rules_and_only_those():
    assert set(typing.get_args(KernelName)) == set(KERNELS)
    for name, rules in KERNELS.items():
        assert isinstance(rules, KernelRules) and rules.name == name


def test_generations_change_what_their_commits_changed():
    k = KERNELS
    assert k["6.2"].sgl_chaining and not k["6.4"].sgl_chaining  # 01df742d8c5c (6.3)
    assert not k["6.4"].aio_wake_min_nr and k["6.8"].aio_wake_min_nr  # 71eb6b6b0ba9 (6.8)
    assert not k["6.8"].per_node_pools and k["6.16"].per_node_pools  # d977506f8863 (6.16)
    assert k["6.16"].dma_map == "sg" and k["6.17"].dma_map == "iova"  # 7ce3c1dd78fc (6.17)
    assert not k["6.2"].defer_lazy_wake and k["6.4"].defer_lazy_wake  # IOU_F_TWQ_LAZY_WAKE (6.4)
    assert k["6.8"].local_tw_cap == 0 and k["6.16"].local_tw_cap == 20  # IO_LOCAL_TW_DEFAULT_MAX (6.13)
    assert not k["6.8"].plug_fifo and k["6.16"].plug_fifo  # e70c301faece (6.13)
    assert not k["6.8"].reissue_at_completion and k["6.16"].reissue_at_completion  # d803d123948f (6.14)
