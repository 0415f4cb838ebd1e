"""Several devices (issue 14): each with its own pools, locks, queues and interrupt
vectors; jobs over several files with fio's file_service_type rules."""

from __future__ import annotations

import math

import pytest

from helpers import cli_in_process, tiny_config
from nvmesim.api import run_replication
from nvmesim.config import ConfigError

#: 64 KiB reads take one list block each (an SGL of 16 segments), so the pools work
LISTED = {"bs": "64k", "iodepth": 32, "iodepth_batch_submit": 8, "ramp_time": 0}


def _hist(d):
    return (d.clat.n, d.clat.mean, d.slat.mean, d.lat.mean, d.io_bytes, d.total_ios)


def _job(job):
    return _hist(job.read), _hist(job.write), job.usr_cpu, job.sys_cpu, job.ctx


def test_k_devices_with_one_job_each_are_k_independent_copies():
    """Job j on its own device and core shares nothing with the others: job 0 is bit for
    bit the one-device, one-job run (its streams are the same), a change to another
    device does not move it, and no pool lock is ever contended or handed over."""
    alone = run_replication(tiny_config(LISTED), "legacy", 0)
    k = 4
    multi_cfg = tiny_config({**LISTED, "numjobs": k, "filename_format": "nvme$jobnumn1"}, devices=[{}] * k)
    multi = run_replication(multi_cfg, "legacy", 0)
    assert _job(multi.jobs[0]) == _job(alone.jobs[0])
    slower = tiny_config({**LISTED, "numjobs": k, "filename_format": "nvme$jobnumn1"},
                         devices=[{}, {"read": {"mean_us": 300, "p99_us": 900}}, {}, {}])
    other = run_replication(slower, "legacy", 0)
    assert _job(other.jobs[0]) == _job(alone.jobs[0])
    assert _job(other.jobs[1]) != _job(multi.jobs[1])  # (the change is real)
    assert [p.device for p in multi.pools] == [f"nvme{i}n1" for i in range(k)]
    for p in multi.pools:
        assert p.ops > 1000 and p.lock_contended == 0 and p.lock_handoff_ns == 0
    for p, q in zip(multi.pools, alone.pools * k):
        assert (p.block_size, p.node) == (q.block_size, q.node)


def test_jobs_sharing_a_device_contend_on_its_pool_lock():
    """Two jobs on one device take its pool lock from two cores: hand-offs, and spinning
    emerges; the same two jobs on a device each never contend."""
    shared = run_replication(tiny_config({**LISTED, "numjobs": 2, "filename": "nvme0n1"}, devices=[{}, {}]),
                             "legacy", 0)
    apart = run_replication(tiny_config({**LISTED, "numjobs": 2, "filename_format": "nvme$jobnumn1"},
                                        devices=[{}, {}]), "legacy", 0)
    (busy,) = [p for p in shared.pools if p.device == "nvme0n1"]
    assert busy.lock_handoff_ns > 0 and busy.lock_contended > 0 and busy.lock_spin_ns > 0
    assert all(p.lock_handoff_ns == 0 and p.lock_contended == 0 for p in apart.pools)


@pytest.mark.parametrize("service,nr", [("roundrobin", 1), ("roundrobin:3", 3), ("random", 1), ("random:4", 4)])
def test_file_service_type_shares_the_ios_between_the_files(service, nr):
    """fio's __get_next_file: round robin switches to the next file after every
    file_service_nr I/Os, so n files get equal shares (to a switch's worth); random
    draws each switch's file uniformly, so each share is 1/n within binomial noise."""
    n = 3
    cfg = tiny_config({**LISTED, "filename": "nvme0n1:nvme1n1:nvme2n1", "file_service_type": service},
                      devices=[{}] * n)
    rep = run_replication(cfg, "legacy", 0)
    ios = rep.jobs[0].read.total_ios
    ops = [p.ops / 2 for p in rep.pools]  # an alloc and a free per I/O
    assert sum(ops) == ios
    switches = ios / nr
    for share in ops:
        if service.startswith("roundrobin"):
            assert abs(share - ios / n) <= nr
        else:  # each switch picks a file with probability 1/n: 5 sigma of the switch count
            sigma = math.sqrt(switches * (1 / n) * (1 - 1 / n)) * nr
            assert abs(share - ios / n) < 5 * sigma


def test_littles_law_holds_for_jobs_over_several_devices():
    cfg = tiny_config({**LISTED, "numjobs": 2, "filename": "nvme0n1:nvme1n1", "ioengine": "libaio"},
                      devices=[{}, {"read": {"mean_us": 40}}])
    rep = run_replication(cfg, "stack", 0)
    for job, L, window in zip(rep.jobs, rep.mean_depth, rep.windows_ns):
        d = job.read
        assert d.lat.n > 100 and d.lat.n == d.total_ios
        assert L == pytest.approx(d.lat.n / (window / 1e9) * d.lat.mean / 1e9, rel=1e-5)


def test_pool_block_sizes_are_the_same_across_variants_with_several_devices():
    cfg = tiny_config({**LISTED, "numjobs": 2, "filename": "nvme0n1:nvme1n1"}, devices=[{}, {}])
    pools = {v: [(p.device, p.node, p.block_size) for p in run_replication(cfg, v, 0).pools]
             for v in ("legacy", "stack")}
    assert pools["legacy"] == pools["stack"] and len(pools["legacy"]) == 2


def test_each_device_entry_starts_from_the_device_section():
    cfg = tiny_config({"filename": "nvme0n1:fast"}, device={"read": {"mean_us": 50}, "parallel_units": 8},
                      devices=[{}, {"name": "fast", "read": {"mean_us": 10, "p99_us": 40}}])
    a, b = cfg.device_list()
    assert (a.name, a.read.mean_us, a.parallel_units) == ("nvme0n1", 50, 8)
    assert (b.name, b.read.mean_us, b.parallel_units) == ("fast", 10, 8)
    assert cfg.job_files() == [[0, 1]]
    other = tiny_config({"filename": "nvme0n1:nvme1n1"}, devices=[{}, {"read": {"dist": "constant", "mean_us": 5}}])
    assert other.device_list()[1].read.dist == "constant" and other.device_list()[1].read.p99_us is None


@pytest.mark.parametrize("workload,devices,fragment", [
    ({"filename": "nvme0n1:nvme7n1"}, [{}, {}], "workload.filename: 'nvme7n1' is not a device of this config"),
    ({"numjobs": 3, "filename_format": "nvme$jobnumn1"}, [{}, {}],
     "workload.filename_format: 'nvme2n1' is not a device"),
    ({}, [{}, {}], "workload.filename: 2 devices: name each job's files"),
    ({"filename": "nvme0n1:/dev/nvme0n1"}, [{}], "names a device twice"),
    ({"filename": "nvme0n1"}, [{}, {"node": 1}], "devices.1.node: node 1 does not exist"),
    ({"filename": "nvme0n1"}, [{}, {"name": "nvme0n1"}], "devices.1.name: 'nvme0n1' names devices.0 too"),
    ({"filename": "nvme0n1:nvme1n1", "hipri": True}, [{}, {}], "workload.hipri: polled I/O with several files"),
    ({"file_service_type": "sequential"}, [{}], "workload.file_service_type"),
    ({}, [{"max_io_queues": 1}], "driver.poll_queues: 1 poll queues, but nvme0n1 grants 1 I/O queues"),
    ({"file_service_type": "random:0"}, [{}], "':N' must be a positive count"),
])
def test_bad_device_input_is_a_located_error(workload, devices, fragment):
    with pytest.raises(ConfigError) as e:
        tiny_config(workload, devices=devices, driver={"poll_queues": 1})
    assert fragment in str(e.value)


def test_cli_names_the_file_and_line_of_an_unknown_device(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text("devices:\n  - {}\n  - {}\nworkload:\n  filename: nvme0n1:nvme9n1\n  runtime: 1ms\n")
    proc = cli_in_process("run", str(path))
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"{path}:5: workload.filename: 'nvme9n1' is not a device" in proc.stderr


# ------------------------------------------------- fewer I/O queues than CPUs (blk-mq's map)
@pytest.mark.parametrize("cores,nodes,queues,groups", [
    (8, 1, None, [[c] for c in range(8)]),
    (8, 1, 2, [[0, 1, 2, 3], [4, 5, 6, 7]]),
    (8, 1, 3, [[0, 1, 2], [3, 4, 5], [6, 7]]),  # the first groups a CPU larger
    (8, 2, 3, [[0, 1, 2, 3], [4, 5], [6, 7]]),  # nodes by share: max(1, 3 x 4 / 8) = 1, then 2
    (8, 2, 1, [list(range(8))]),  # fewer groups than nodes: whole nodes dealt out
    (12, 3, 4, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [10, 11]]),
])
def test_queue_groups_follow_group_cpus_evenly(cores, nodes, queues, groups):
    cfg = tiny_config(host={"cores": cores, "numa_nodes": nodes}, device={"max_io_queues": queues})
    assert cfg.queue_groups(0) == groups
    assert sorted(c for g in groups for c in g) == list(range(cores))


def test_vectors_of_several_devices_spread_over_a_group():
    """x86's managed-vector allocator puts each device's vector for a group on the group's
    CPU with the fewest vectors: the first device on its first CPU, the next on the next."""
    cfg = tiny_config({"filename": "nvme0n1:nvme1n1"}, host={"cores": 8},
                      device={"max_io_queues": 2}, devices=[{}, {}])
    assert [cfg.vector_cpu(d, [0, 1, 2, 3]) for d in range(3)] == [0, 1, 2]


SQ_SPIN = "io_uring_enter;nvme_queue_rq;_raw_spin_lock;native_queued_spin_lock_slowpath"
SQ_LOCK = "io_uring_enter;nvme_queue_rq;_raw_spin_lock"


def test_jobs_sharing_a_queue_contend_on_its_sq_lock():
    """Four jobs mapped to one queue take its SQ lock for every doorbell: the lock line moves
    between them and spinning emerges; with a queue each, there is no SQ lock at all."""
    w = {"bs": "4k", "iodepth": 16, "numjobs": 4, "ramp_time": 0}
    shared = run_replication(tiny_config(w, host={"cores": 4}, device={"max_io_queues": 1}), "legacy", 0)
    own = run_replication(tiny_config(w, host={"cores": 4}), "legacy", 0)
    assert shared.profile_ns[SQ_LOCK] > 0 and shared.profile_ns[SQ_SPIN] > 0
    assert own.profile_ns[SQ_LOCK] == own.profile_ns[SQ_SPIN] == 0
    for job, L, window in zip(shared.jobs, shared.mean_depth, shared.windows_ns):  # Little's law still holds
        d = job.read
        assert L == pytest.approx(d.lat.n / (window / 1e9) * d.lat.mean / 1e9, rel=1e-5)


def test_completions_run_on_the_vectors_core():
    """Jobs on CPUs 4-7 of a device with one queue: its vector is on CPU 0, which no job
    runs on, so every interrupt handler runs there (a core of its own in the profile) and
    frees into the pools from there (the pool lock moves between it and the submitters)."""
    w = {**LISTED, "numjobs": 4, "cpus_allowed": "4-7"}
    one = run_replication(tiny_config(w, host={"cores": 8}, device={"max_io_queues": 1}), "legacy", 0)
    own = run_replication(tiny_config(w, host={"cores": 8}), "legacy", 0)
    assert one.helper_core_ns > 0 and own.helper_core_ns == 0
    assert one.profile_ns["nvme_irq"] > 0
    assert one.pools[0].lock_handoff_ns > own.pools[0].lock_handoff_ns


def test_a_shared_queue_s_tags_are_shared():
    """Two libaio jobs of depth 700 on one queue of 1023 tags: they cannot both have 700 in
    flight, so they sleep for tags (blk_mq_get_tag) and the mean depth in the device is
    capped by the tags; each still drains and Little's law holds."""
    w = {"bs": "4k", "iodepth": 700, "iodepth_batch_submit": 32, "iodepth_batch_complete_min": 32,
         "numjobs": 2, "ioengine": "libaio", "ramp_time": 0}
    rep = run_replication(tiny_config(w, host={"cores": 2}, device={"max_io_queues": 1}), "legacy", 0)
    alone = run_replication(tiny_config(w, host={"cores": 2}), "legacy", 0)
    assert sum(j.ctx for j in rep.jobs) > sum(j.ctx for j in alone.jobs)
    for job, L, window in zip(rep.jobs, rep.mean_depth, rep.windows_ns):
        d = job.read
        assert d.lat.n == d.total_ios > 1000
        assert L == pytest.approx(d.lat.n / (window / 1e9) * d.lat.mean / 1e9, rel=1e-5)


def _ipi_runs(workload: dict, affinities=(0, 1, 2)) -> dict:
    return {a: run_replication(tiny_config(workload, host={"cores": 4, "numa_nodes": 2}, device={"max_io_queues": 1},
                                           driver={"rq_affinity": a}), "legacy", 0) for a in affinities}


def test_rq_affinity_sends_completions_to_the_submitter_by_ipi():
    """Four jobs on 2 nodes share one queue whose vector is on CPU 0.  rq_affinity 0
    completes everything there; 1 sends the completions of the node-1 submitters (CPUs 2
    and 3: no shared cache) to them by IPI; 2 sends every submitter's but CPU 0's.  The
    IPI's pass frees each list block on the CPU that allocated it, so fewer pool lines
    cross nodes than when CPU 0 frees them all; every I/O completes and Little's law
    holds on every path."""
    reps = _ipi_runs({**LISTED, "numjobs": 4})
    ipi = {a: r.profile_ns["blk_done_softirq"] + r.profile_ns["blk_done_softirq;dma_pool_free"] for a, r in reps.items()}
    assert ipi[0] == 0 < ipi[1] < ipi[2]
    assert reps[0].profile_ns["nvme_irq;dma_pool_free"] > reps[1].profile_ns["nvme_irq;dma_pool_free"] > \
        reps[2].profile_ns["nvme_irq;dma_pool_free"]
    p0, p1 = reps[0].pools[0], reps[1].pools[0]
    assert p1.transfers_remote / p1.ops < p0.transfers_remote / p0.ops
    for rep in reps.values():
        for job, L, window in zip(rep.jobs, rep.mean_depth, rep.windows_ns):
            d = job.read
            assert d.lat.n == d.total_ios > 500
            assert L == pytest.approx(d.lat.n / (window / 1e9) * d.lat.mean / 1e9, rel=1e-5)


def test_rq_affinity_1_keeps_completions_that_share_a_cache():
    """Submitters on the vector's node share its cache: rq_affinity 1 completes them on
    the vector's CPU (no IPI); rq_affinity 2 forces them to the submitter all the same."""
    reps = _ipi_runs({**LISTED, "numjobs": 2, "cpus_allowed": "0-1"}, (1, 2))
    assert reps[1].profile_ns["blk_done_softirq"] == 0 < reps[2].profile_ns["blk_done_softirq"]


@pytest.mark.parametrize("workload,sections,fragment", [
    ({"hipri": True}, {"driver": {"poll_queues": 1}, "device": {"max_io_queues": 2}},
     "workload.hipri: polled I/O with fewer I/O queues"),
])
def test_shared_queue_paths_not_modelled_are_located_errors(workload, sections, fragment):
    sections = {"host": {"cores": 4}, "device": {"max_io_queues": 1}, **sections}
    with pytest.raises(ConfigError) as e:
        tiny_config(workload, **sections)
    assert fragment in str(e.value)


# ---------------------------------------------------------------------------- SMT
def test_smt_siblings_are_not_two_cores():
    """Two CPU-bound jobs on the two threads of one core each do their CPU work
    host.smt_slowdown times slower than on two cores (the device is fast and deep enough
    never to bind; host noise off)."""
    w = {"bs": "4k", "iodepth": 32, "iodepth_batch_submit": 8, "iodepth_batch_complete_min": 8, "numjobs": 2,
         "ramp_time": 0}
    dev = {"read": {"dist": "constant", "mean_us": 2}, "parallel_units": 256}
    host = {"cores": 4, "threads_per_core": 2, "noise": {"enabled": False}}
    cfg = tiny_config({**w, "cpus_allowed": "0,2"}, host=host, device=dev)
    assert cfg.host.sibling_of(0) == 2 and cfg.host.sibling_of(3) == 1
    siblings = run_replication(cfg, "legacy", 0)
    cores = run_replication(tiny_config({**w, "cpus_allowed": "0,1"}, host=host, device=dev), "legacy", 0)
    def fio_per_io(rep):  # fio's own steps: per I/O (and per reap, a few), scaled
        return rep.profile_ns["fio"] / sum(j.read.lat.n for j in rep.jobs)

    assert fio_per_io(siblings) / fio_per_io(cores) == pytest.approx(cfg.host.smt_slowdown, rel=1e-3)
    # IOPS fall by less: slower threads take more CQEs per interrupt and per reap
    ratio = sum(j.read.iops for j in cores.jobs) / sum(j.read.iops for j in siblings.jobs)
    assert 1.3 < ratio <= cfg.host.smt_slowdown


def test_smt_needs_cores_of_two_threads():
    with pytest.raises(ConfigError, match="threads_per_core"):
        tiny_config(host={"cores": 6, "numa_nodes": 2, "threads_per_core": 2})


# ------------------------------------------- cache lines and memory placement on the I/O path
def test_pool_lines_move_only_between_cpus():
    """One job completing on its own core touches every pool line from one CPU: no
    transfer.  The same job with its queue's vector on another CPU frees on that CPU, so
    each block's link line moves between the two (same node)."""
    own = run_replication(tiny_config({**LISTED, "cpus_allowed": "1"}, host={"cores": 2}), "legacy", 0)
    moved = run_replication(tiny_config({**LISTED, "cpus_allowed": "1"}, host={"cores": 2},
                                        device={"max_io_queues": 1}, driver={"rq_affinity": 0}), "legacy", 0)
    (p,), (q,) = own.pools, moved.pools
    assert p.transfers_local == p.transfers_remote == 0
    assert q.transfers_local >= q.ops / 2 and q.transfers_remote == 0
    assert q.ns / q.ops > p.ns / p.ops


def test_remote_pool_memory_costs_more_than_local():
    """The pool's pages are on the device's node (dma_alloc_coherent): a job on node 1
    whose pool lines keep leaving its caches (a large cache footprint per I/O) pays remote
    DRAM for them when the device is on node 0, local DRAM when it is on node 1."""
    w = {**LISTED, "cpus_allowed": "2"}
    host = {"cores": 4, "numa_nodes": 2, "cache_bytes_per_io": 256 << 20}
    near = run_replication(tiny_config(w, host=host, device={"node": 1}), "legacy", 0)
    far = run_replication(tiny_config(w, host=host, device={"node": 0}), "legacy", 0)
    (a,), (b,) = near.pools, far.pools
    assert a.ops == b.ops or abs(a.ops - b.ops) < 0.05 * a.ops
    assert b.ns / b.ops > a.ns / a.ops


def test_set_indexes_the_devices_list():
    """--set devices.1.node=1 reaches the list's entry; a bad index is an error at --set."""
    from nvmesim.api import load
    from helpers import ROOT

    cfg = load(ROOT / "configs/multidevice.yaml", {"devices.1.node": 1, "devices.4.name": "nvme4n1"})
    assert [d.node for d in cfg.device_list()] == [0, 1, 1, 1, 0]
    assert cfg.device_list()[4].name == "nvme4n1"
    with pytest.raises(ConfigError, match=r"--set: devices\.9\.node: devices is a list of 4"):
        load(ROOT / "configs/multidevice.yaml", {"devices.9.node": 1})
    proc = cli_in_process("run", str(ROOT / "configs/multidevice.yaml"), "--set", "devices.x.node=1")
    assert proc.returncode == 2 and "--set: devices.x.node" in proc.stderr and "Traceback" not in proc.stderr
