"""The 6.x I/O path against its kernel rules: the plug and queue_rqs, batched
completion, libaio's wake-ups, io_uring's task work and io-wq (docs/kernel-path.md)."""

from __future__ import annotations

import pytest

from nvmesim.api import load, run_replication
from nvmesim.sim import fio

from helpers import ROOT  # noqa: E402


def _small(**workload) -> dict:
    base = {"workload": {"ioengine": "libaio", "bs": "12k", "iodepth": 100, "iodepth_batch_submit": 100,
                         "iodepth_batch_complete_min": 100, "runtime": "2ms", "ramp_time": "1ms", **workload},
            "device": {"preset": "optane"}, "host": {"noise": {"enabled": False}}}
    return base


def _record_dispatches(monkeypatch) -> list[tuple[int, int, bool]]:
    """(requests, label, kblockd?) of every SQ doorbell the jobs ring."""
    seen: list[tuple[int, int, bool]] = []
    orig = fio.dispatch

    def spy(core, driver, device, queue, reqs, rq_label, alloc_labels, lone):
        seen.append((len(reqs), rq_label, rq_label == fio.L_KBLOCKD_RQ))
        return orig(core, driver, device, queue, reqs, rq_label, alloc_labels, lone)

    monkeypatch.setattr(fio, "dispatch", spy)
    return seen


def test_a_batch_of_100_rings_4_doorbells_with_a_plug_of_32(monkeypatch):
    """blk_add_rq_to_plug flushes before adding to a plug of BLK_MAX_REQUEST_COUNT (32),
    blk_finish_plug flushes the rest: 32 + 32 + 32 + 4, one nvme_queue_rqs and one SQ
    doorbell each."""
    seen = _record_dispatches(monkeypatch)
    run_replication(load(_small()), "legacy", 0)
    sizes = [n for n, _, _ in seen]
    assert sizes[:8] == [32, 32, 32, 4] * 2
    assert set(sizes) == {32, 4}


@pytest.mark.parametrize("batch,expect", [(1, {1}), (2, {1}), (3, {3})])
def test_batches_of_two_or_fewer_are_not_plugged(monkeypatch, batch, expect):
    """AIO_PLUG_THRESHOLD = 2: io_submit of 1 or 2 iocbs issues each request directly
    (blk_mq_try_issue_directly, a doorbell each); 3 are plugged and go out together."""
    seen = _record_dispatches(monkeypatch)
    run_replication(load(_small(iodepth=batch, iodepth_batch_submit=batch, iodepth_batch_complete_min=batch)),
                    "legacy", 0)
    assert {n for n, _, _ in seen} == expect


def test_large_requests_flush_the_plug_at_every_add(monkeypatch):
    """A request of BLK_PLUG_FLUSH_SIZE (128 KiB) or more flushes the plug when the next
    is added: the plug never holds two."""
    seen = _record_dispatches(monkeypatch)
    run_replication(load(_small(bs="128k")), "legacy", 0)
    assert {n for n, _, _ in seen} == {1}


def test_a_tag_sleep_hands_the_plug_to_kblockd(monkeypatch):
    """io_schedule flushes the plug from schedule(): with 31 tags and batches of 100, the
    requests plugged before each sleep are dispatched by kblockd's worker, booked under
    blk_mq_run_work_fn, never more than the tags allow."""
    seen = _record_dispatches(monkeypatch)
    cfg = load({**_small(), "driver": {"queue_depth": 32}})
    rep = run_replication(cfg, "legacy", 0)
    kblockd = [n for n, _, k in seen if k]
    assert kblockd and max(kblockd) <= 31
    assert rep.profile_ns["blk_mq_run_work_fn;nvme_queue_rq"] > 0
    assert rep.profile_ns["blk_mq_run_work_fn;nvme_queue_rq;dma_pool_alloc"] > 0


@pytest.mark.parametrize("kernel,order", [("6.8", "reversed"), ("6.16", "in order")])
def test_the_plug_list_is_lifo_before_6_13(monkeypatch, kernel, order):
    """Before e70c301faece (6.13) the plug list is LIFO: nvme_queue_rqs writes a flush's
    SQEs in reverse submission order; the device sees them in that order."""
    from nvmesim.sim import device

    starts: list[float] = []
    orig = device.Device.submit

    def spy(self, io_u, at):
        starts.append(io_u.start)
        return orig(self, io_u, at)

    monkeypatch.setattr(device.Device, "submit", spy)
    cfg = load({**_small(iodepth=8, iodepth_batch_submit=8, iodepth_batch_complete_min=8),
                "driver": {"kernel": kernel}})
    run_replication(cfg, "legacy", 0)
    first = starts[:8]
    assert first == (sorted(first, reverse=True) if order == "reversed" else sorted(first))


def _reaping(engine: str, kernel: str, **extra) -> "object":
    """32 reads in flight on a slow drive, reaped 32 at a time: the thread waits for
    most of each batch's completions."""
    cfg = load({"workload": {"ioengine": engine, "bs": "4k", "iodepth": 32, "iodepth_batch_submit": 32,
                             "iodepth_batch_complete_min": 32, "runtime": "20ms", "ramp_time": "2ms", **extra},
                "driver": {"kernel": kernel}, "device": {"preset": "tlc-dc"},
                "host": {"noise": {"enabled": False}}})
    return run_replication(cfg, "legacy", 0)


def test_libaio_wakes_the_waiter_at_every_event_before_6_8():
    """fs/aio.c before 71eb6b6b0ba9 (6.8): aio_complete wakes an io_getevents waiter at
    every event, which copies it out and sleeps again; from 6.8 only once min_nr are
    there.  fio's ctx counts the thread's sleeps."""
    old, new = _reaping("libaio", "6.4"), _reaping("libaio", "6.8")
    per_reap = lambda rep: rep.jobs[0].ctx / rep.jobs[0].total_complete  # noqa: E731
    assert per_reap(new) == pytest.approx(1.0, abs=0.05)
    assert per_reap(old) > 20  # nearly one sleep per event of the batch of 32
    # the wake-ups cost CPU under io_getevents, and nothing else changes
    assert old.profile_ns["io_getevents"] > 10 * new.profile_ns["io_getevents"]


def test_io_uring_defer_taskrun_posts_cqes_inside_io_uring_enter():
    """DEFER_TASKRUN: the interrupt ends the request and queues task work; the CQE is
    posted by the task inside io_uring_enter. COOP_TASKRUN: by tctx_task_work on return
    to user mode. Either way, never in the interrupt."""
    defer = _reaping("io_uring", "6.4", ring_taskrun="DEFER_TASKRUN")
    coop = _reaping("io_uring", "6.4", ring_taskrun="COOP_TASKRUN")
    assert defer.profile_ns["io_uring_enter;io_req_rw_complete"] > 0
    assert defer.profile_ns["tctx_task_work;io_req_rw_complete"] == 0
    assert coop.profile_ns["tctx_task_work;io_req_rw_complete"] > 0
    assert coop.profile_ns["io_uring_enter;io_req_rw_complete"] == 0
    # the same number of CQEs posted, at the same cost each
    assert defer.profile_ns["io_uring_enter;io_req_rw_complete"] == pytest.approx(
        coop.profile_ns["tctx_task_work;io_req_rw_complete"], rel=0.02)


def test_defer_taskrun_wakes_once_per_wait_from_6_4_and_per_completion_on_6_2():
    """6.4's lazy wake (IOU_F_TWQ_LAZY_WAKE) wakes the waiter once enough completions are
    queued for min_events; 6.2 woke it at every one; COOP_TASKRUN's first task work
    wakes it, each time it sleeps again."""
    per_reap = lambda rep: rep.jobs[0].ctx / rep.jobs[0].total_complete  # noqa: E731
    assert per_reap(_reaping("io_uring", "6.4")) == pytest.approx(1.0, abs=0.05)
    assert per_reap(_reaping("io_uring", "6.2")) > 10
    assert per_reap(_reaping("io_uring", "6.4", ring_taskrun="COOP_TASKRUN")) > 10


def test_a_cqe_posted_while_a_locked_pass_waits_is_served():
    """Two jobs share the pool lock, so a completion pass may stop before the lock to let
    time catch up; a CQE posted meanwhile must start the next invocation when the pass
    ends (it once stayed in the CQ: the job never finished its drain)."""
    cfg = load(ROOT / "configs/highdepth.yaml", {
        "workload.numjobs": 2, "workload.iodepth": 1023, "workload.iodepth_batch_submit": 256,
        "workload.iodepth_batch_complete_min": 256, "workload.iodepth_batch_complete_max": 256,
        "driver.queue_depth": 1024, "workload.runtime": 0.01, "workload.ramp_time": 0.002,
        "host.noise.enabled": False})
    r = run_replication(cfg, "stack", 0)
    assert all(w < 1e9 for w in r.windows_ns)  # every job finished


# ---- io_uring beyond the tags: io-wq ------------------------------------------------
def _beyond(engine: str, kernel: str = "6.8", cores: int = 2, **extra) -> tuple[object, object]:
    """fio's depth 4x the 255 tags of a 256-entry queue, on a job CPU with one idle
    CPU beside it (for io-wq's workers)."""
    cfg = load({"workload": {"ioengine": engine, "bs": "12k", "iodepth": 1020, "iodepth_batch_submit": 64,
                             "iodepth_batch_complete_min": 64, "runtime": "20ms", "ramp_time": "5ms",
                             "cpus_allowed": "0", **extra},
                "host": {"cores": cores, "noise": {"enabled": False}},
                "driver": {"queue_depth": 256, "kernel": kernel}, "device": {"preset": "optane"}})
    return cfg, run_replication(cfg, "legacy", 0)


def test_io_uring_beyond_the_tags_moves_the_tag_wait_from_slat_into_clat():
    """io_uring issues with NOWAIT: a request that finds no tag is handed to io-wq
    (io_queue_iowq) and its worker sleeps for the tag, so the submission does not.  By
    Little's law the requests beyond the in-flight tags (1020 - 2 x 255: the job's queue
    and the worker CPU's) wait about (1020 - 510) / IOPS for a tag: that wait is in clat,
    and slat is far below it.  libaio's io_submit sleeps for tags itself."""
    cfg, uring = _beyond("io_uring")
    _, aio = _beyond("libaio")
    u = uring.jobs[0].read
    iops = u.io_bytes / cfg.workload.bs / (uring.windows_ns[0] / 1e9)
    tag_wait_ns = (1020 - 2 * 255) / iops * 1e9
    assert u.clat.mean > 0.9 * tag_wait_ns
    assert u.slat.mean < 0.1 * tag_wait_ns
    assert u.slat.mean < 0.5 * aio.jobs[0].read.slat.mean  # no tag sleep in the submission
    # Little's law: fio's mean depth = IOPS x mean latency (a window that starts empty)
    _, cold = _beyond("io_uring", ramp_time="0")
    c = cold.jobs[0].read
    assert c.lat.n == c.total_ios  # all drained
    assert cold.mean_depth[0] == pytest.approx(c.lat.n / (cold.windows_ns[0] / 1e9) * c.lat.mean / 1e9, rel=1e-5)
    # the hand-over in the task, the blocking issue in the worker, the worker's allocations
    p = uring.profile_ns
    assert p["io_uring_enter;io_queue_iowq"] > 0 and p["io_wq_worker"] > 0
    assert p["io_wq_worker;nvme_queue_rq;dma_pool_alloc"] > 0
    worker = sum(ns for k, ns in p.items() if k.startswith("io_wq_worker"))
    assert 0 < worker <= uring.helper_core_ns  # (its interrupts too)
    assert sum(p.values()) == pytest.approx(uring.core_ns)  # the shares add up


@pytest.mark.parametrize("kernel,taskrun,label", [
    ("6.8", "DEFER_TASKRUN", "io_uring_enter;io_queue_iowq"),  # inline in the submission
    ("6.16", "DEFER_TASKRUN", "io_uring_enter;io_queue_iowq"),  # the local task work, in io_uring_enter
    ("6.16", "none", "tctx_task_work;io_queue_iowq"),  # task work on return to user mode
])
def test_where_the_hand_over_to_io_wq_runs(kernel, taskrun, label):
    """Up to 6.13 io_queue_async hands the request over during the submission; from 6.14
    (d803d123948f) the -EAGAIN completes through task work, which hands it over."""
    _, rep = _beyond("io_uring", kernel=kernel, ring_taskrun=taskrun)
    others = {"io_uring_enter;io_queue_iowq", "tctx_task_work;io_queue_iowq"} - {label}
    assert rep.profile_ns[label] > 0
    assert all(rep.profile_ns[o] == 0 for o in others)


def test_io_wq_workers_run_on_cpus_no_job_runs_on():
    """Workers ignore fio's cpus_allowed: on 6.2 they stay on the node of the CPU that
    queued the work, from 6.4 they may run anywhere (here: every CPU without a job)."""
    base = {"workload": {"ioengine": "io_uring", "iodepth": 2000, "numjobs": 2, "cpus_allowed": "0,1"},
            "host": {"cores": 8, "numa_nodes": 2}, "driver": {"queue_depth": 1024}}
    assert load({**base, "driver": {"queue_depth": 1024, "kernel": "6.2"}}).iowq_cpus() == [[2], [3]]
    assert load({**base, "driver": {"queue_depth": 1024, "kernel": "6.4"}}).iowq_cpus() == [[2, 4, 6], [3, 5, 7]]
    within = {**base, "workload": {**base["workload"], "iodepth": 1000}}
    assert load(within).iowq_cpus() == [[], []]  # never without a tag


def test_io_uring_beyond_the_tags_without_a_spare_cpu_is_refused():
    from nvmesim.config import ConfigError

    with pytest.raises(ConfigError, match="workload.iodepth.*io-wq"):
        load({"workload": {"ioengine": "io_uring", "iodepth": 300, "cpus_allowed": "0"}, "host": {"cores": 1},
              "driver": {"queue_depth": 256}})


# ---- SQPOLL -----------------------------------------------------------------------
def _sqpoll(**extra):
    cfg = load({"workload": {"ioengine": "io_uring", "bs": "12k", "iodepth": 64, "iodepth_batch_submit": 16,
                             "iodepth_batch_complete_min": 16, "runtime": "20ms", "ramp_time": "0",
                             "cpus_allowed": "0", "sqthread_poll": True, **extra},
                "host": {"cores": 2, "noise": {"enabled": False}}, "device": {"preset": "optane"}})
    return cfg, run_replication(cfg, "legacy", 0)


def test_sqpoll_records_no_slat_and_both_threads_spin():
    """fio >= 3.34 (c011bf1292f1) disables slat with sqthread_poll and stamps the issue
    time when the SQEs are in the ring; fio spins on the CQ ring (all user CPU, never a
    context switch) and the SQ thread spins on its own CPU, where the submission work,
    its task work (the CQE posts) and its queue's interrupts run."""
    cfg, rep = _sqpoll()
    job = rep.jobs[0]
    assert job.read.slat.n == 0 and job.read.clat.n == job.read.lat.n > 1000
    assert job.usr_cpu == pytest.approx(100.0, abs=0.5) and job.ctx == 0
    p = rep.profile_ns
    assert p["io_sq_thread;nvme_queue_rq"] > 0 and p["io_sq_thread;io_req_rw_complete"] > 0
    assert p["io_sq_thread;nvme_queue_rq;dma_pool_alloc"] > 0
    assert p["io_uring_enter"] == p["io_uring_enter;nvme_queue_rq"] == 0  # no syscalls
    # the SQ thread's CPU is busy the whole window: the profile is two full CPUs
    assert rep.helper_core_ns == pytest.approx(rep.windows_ns[0])
    assert sum(p.values()) == pytest.approx(2 * rep.windows_ns[0])
    # Little's law (a window that starts empty and drains)
    lam = job.read.lat.n / (rep.windows_ns[0] / 1e9)
    assert rep.mean_depth[0] == pytest.approx(lam * job.read.lat.mean / 1e9, rel=1e-5)


@pytest.mark.parametrize("extra,path,text", [
    ({"workload": {"ioengine": "libaio", "sqthread_poll": True}}, "workload.sqthread_poll", "io_uring"),
    ({"workload": {"sqthread_poll": True}, "host": {"cores": 1}}, "workload.sqthread_poll", "CPU no job"),
    ({"workload": {"sqthread_poll": True, "sqthread_poll_cpu": 0, "cpus_allowed": "0"}}, "workload.sqthread_poll_cpu",
     "CPU of its own"),
    ({"workload": {"sqthread_poll": True, "iodepth": 2000}}, "workload.sqthread_poll", "beyond"),
])
def test_sqpoll_configs_that_are_not_modelled_are_refused(extra, path, text):
    from nvmesim.config import ConfigError

    with pytest.raises(ConfigError, match=f"{path}.*{text}"):
        load(extra)
