"""``magazine``: a per-CPU cache of free blocks in front of the v6.4 stack.

Not a kernel dmapool: the design of the slab allocator's per-CPU object caches
(Bonwick & Adams, "Magazines and Vmem", USENIX ATC 2001; Linux's SLAB, ``mm/slab.c``
until 6.8, ``struct array_cache``) put in front of ``stack``.  Each CPU keeps an array
of up to :meth:`limit` free blocks:

* alloc with blocks in the array: pop the top one, **no pool lock** (``locked = False``;
  the array is the CPU's own, interrupts disabled around it as SLAB does, priced as the
  ``call_ns`` bookkeeping);
* alloc with the array empty (SLAB's ``cache_alloc_refill``): under the pool lock pop
  :meth:`batch` blocks off the shared stack (creating pages as it must) into the array,
  then pop the top one;
* free with room: push, no lock; free with the array full (``cache_flusharray``): under
  the lock push the ``batch`` oldest blocks (the array's bottom) back on the stack, move
  the rest down, then push.

Sizes: SLAB's ``enable_cpucache`` rule for an object of the pool's block size — limit
120 up to 256 B, 54 up to 1 KiB, 24 up to a page, 8 above, 1 above 128 KiB, and
``batchcount = (limit + 1) / 2`` (the kernel comment calls them guesses, to be
auto-tuned "as described by Bonwick").  Class constants ``LIMIT`` / ``BATCH`` override
the rule (the config has no place for a variant's parameters).

What is priced, with the cache model: an operation's own line is the array slot it reads
or writes (a side line of the CPU: ``struct array_cache``'s 16-B header then 8-B
pointers), not the block; a refill also reads the link line of every block it pops and
a flush writes the link of every block it pushes (``price_line`` on the block lines:
footprint rule, holders, transfers), and both write the array lines they fill or move.
The per-block loop instructions are not priced separately (each moved block costs at
least its line's L1 latency).
"""

from __future__ import annotations

from .base import DmaPool, OpStats
from .stack import StackPool

_HEADER = 16  # struct array_cache: avail, limit, batchcount, touched (4 unsigned ints)


class MagazinePool(StackPool):
    """The stack dmapool with SLAB-style per-CPU arrays of free blocks in front."""

    name = "magazine"
    #: override SLAB's size rule (None: use it)
    LIMIT: int | None = None
    BATCH: int | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        size = self.geometry.size
        limit = self.LIMIT or (1 if size > 131072 else 8 if size > 4096 else 24 if size > 1024
                               else 54 if size > 256 else 120)
        self.limit = limit
        self.batch = min(self.BATCH or (limit + 1) // 2, limit)
        self._arrays: dict[int, tuple[list[int], int]] = {}  # cpu -> (free handles, first side line)

    def _array(self, cpu: int) -> tuple[list[int], int]:
        """The CPU's array, created (its lines written by that CPU) at its first use."""
        arr = self._arrays.get(cpu)
        if arr is None:
            arr = self._arrays[cpu] = ([], self.new_side_lines(-(-(_HEADER + 8 * self.limit) // 64)))
        return arr

    def _fill_lines(self, first: int, lo: int, hi: int) -> float:
        """Store into array slots ``lo .. hi - 1``: each line they span, priced once."""
        return self.price_lines(list(range(first + ((_HEADER + 8 * lo) >> 6),
                                           first + ((_HEADER + 8 * hi - 1) >> 6) + 1)), True)

    def take(self, cpu: int, op: OpStats) -> int:
        arr = self._arrays.get(cpu) or self._array(cpu)
        cache = arr[0]
        if cache:
            op.locked = False
        else:  # cache_alloc_refill: a batch off the shared stack, under the lock
            stack = self._stack
            for _ in range(self.batch):
                if not stack:
                    self._grow()
                cache.append(stack.pop())
            base = self.base
            op.extra_ns = self.price_lines([(h - base) >> 6 for h in cache], False, False) + \
                self._fill_lines(arr[1], 0, len(cache))  # each block's next_block read; the slots written
        handle = cache.pop()
        self.op_line = arr[1] + ((_HEADER + 8 * len(cache)) >> 6)
        return handle

    def give(self, handle: int, cpu: int, op: OpStats) -> None:
        arr = self._arrays.get(cpu) or self._array(cpu)
        cache = arr[0]
        if len(cache) < self.limit:
            op.locked = False
        else:  # cache_flusharray: the oldest batch back on the stack, under the lock
            n = self.batch
            flushed = cache[:n]
            del cache[:n]
            self._stack.extend(flushed)
            base = self.base
            op.extra_ns = self.price_lines([(h - base) >> 6 for h in flushed], True, False) + \
                self._fill_lines(arr[1], 0, len(cache))  # each block's next_block written; the rest moved down
        self.op_line = arr[1] + ((_HEADER + 8 * len(cache)) >> 6)
        cache.append(handle)

    def cached(self, cpu: int) -> tuple[int, ...]:
        """The free blocks ``cpu``'s array holds, bottom first."""
        arr = self._arrays.get(cpu)
        return tuple(arr[0]) if arr else ()

    def free_state(self) -> tuple:
        return (tuple(self._stack), tuple((c, tuple(a[0])) for c, a in sorted(self._arrays.items())))

    # ---- repeat detection for the micro harness ----------------------------------------
    def snapshot(self) -> tuple:
        """The pool's state up to the names of its blocks, when that is all that matters.

        With one CPU (no holders to check) and every block free, what the pool does next
        depends only on the order of the free blocks (the stack, then each CPU's array),
        which of them share a line, and each line's age: any two blocks are
        interchangeable.  So the lines are renamed by first appearance along that order
        and the state is (counts, renamed lines in order, their ages, the side lines'
        ages).  The micro harness needs this: SLAB's batches drift against the round
        boundaries, so the exact block order takes hundreds of rounds to repeat, but the
        renamed state repeats within a few.  Otherwise: the base class's exact snapshot."""
        if self._slow or self._live:
            return super().snapshot()
        now = self._clock
        touch = self._line_touch
        base = self.base
        arrays = sorted(self._arrays.items())
        names: dict[int, int] = {}
        order, ages = [], []
        for h in [*self._stack, *(h for _, (a, _) in arrays for h in a)]:
            line = (h - base) >> 6
            k = names.setdefault(line, len(names))
            order.append(k)
            if k == len(ages):
                ages.append(now - touch[line])
        counts = (len(self._stack), self.nr_pages, tuple((c, len(a), first) for c, (a, first) in arrays))
        return ("renamed", counts, tuple(order), ages, [now - t for t in self._side_touch], now)

    @staticmethod
    def repeats(earlier: tuple, later: tuple) -> bool:
        """:meth:`DmaPool.repeats` for the renamed snapshots of :meth:`snapshot` (the same
        rule: equal structure, and every line touched between the two moments of the same
        age at both); exact snapshots are compared as the base class does."""
        if earlier[0] != "renamed" or later[0] != "renamed":
            if earlier[0] == "renamed" or later[0] == "renamed":
                return False
            return DmaPool.repeats(earlier, later)
        if earlier[1] != later[1] or earlier[2] != later[2]:
            return False
        window = later[5] - earlier[5]
        for old, new in ((earlier[3], later[3]), (earlier[4], later[4])):
            for i, age in enumerate(new):
                if age < window and old[i] != age:
                    return False
        return True
