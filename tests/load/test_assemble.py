from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from rtt_topology.columns import validate_beacon_frame
from rtt_topology.load.assemble import BlockAccumulator, _sort_order
from rtt_topology.load.columnar import validate_block
from rtt_topology.load.records import flatten_record, raw_table


def block(*records: tuple[str, str, str, str]) -> pa.Table:
    table = raw_table(
        [
            flatten_record({"site": s, "session": se, "event": e, "ts": t}, line=i + 1)
            for i, (s, se, e, t) in enumerate(records)
        ]
    )
    valid, problems = validate_block(table)
    assert not problems
    return valid


def test_empty_accumulator_gives_contract_frame() -> None:
    assembled = BlockAccumulator().finish()
    validate_beacon_frame(assembled.frame)
    assert assembled.duplicates == 0


def test_sorted_categories_and_dedup_across_blocks() -> None:
    acc = BlockAccumulator()
    first = acc.add_source("one.jsonl")
    second = acc.add_source("two.jsonl")
    acc.add(block(("b", "s1", "heartbeat", "2026-01-19T15:00:30Z"),
                  ("a", "s1", "heartbeat", "2026-01-19T15:00:00Z")), first)  # fmt: skip
    acc.add(block(("a", "s1", "heartbeat", "2026-01-19T15:00:00Z"),
                  ("a", "s0", "startup", "2026-01-19T15:00:00Z"),
                  ("c", "s1", "heartbeat", "2026-01-19T14:00:00Z")), second)  # fmt: skip
    assembled = acc.finish()
    frame = assembled.frame
    validate_beacon_frame(frame)
    assert assembled.duplicates == 1
    assert assembled.duplicates_by_site == {"a": 1}
    assert frame[["site", "session", "event"]].astype(str).values.tolist() == [
        ["a", "s0", "startup"], ["a", "s1", "heartbeat"], ["b", "s1", "heartbeat"],
        ["c", "s1", "heartbeat"],
    ]  # fmt: skip
    # The first copy read is kept.
    assert frame["source"].astype(str).tolist()[1] == "one.jsonl"
    assert frame["site"].cat.categories.tolist() == ["a", "b", "c"]
    assert frame["source"].cat.categories.tolist() == ["one.jsonl", "two.jsonl"]


def test_unused_categories_are_dropped() -> None:
    acc = BlockAccumulator()
    source = acc.add_source("x")
    table = block(("a", "s", "heartbeat", "2026-01-19T15:00:00Z"),
                  ("a", "s", "heartbeat", "2026-01-19T15:00:00Z"))  # fmt: skip
    table = table.set_column(table.schema.get_field_index("url"), "url", pa.array(["u1", "u2"]))
    acc.add(table, source)
    frame = acc.finish().frame
    assert frame["url"].cat.categories.tolist() == ["u1"]


def test_sort_order_matches_pandas() -> None:
    rng = np.random.default_rng(3)
    n = 5000
    site = rng.integers(0, 30, n).astype(np.int32)
    ts = rng.integers(0, 50, n).astype(np.int64)
    session = rng.integers(0, 4, n).astype(np.int32)
    event = rng.integers(0, 3, n).astype(np.int32)
    order, _, _ = _sort_order(site, ts, session, event)
    expected = pd.DataFrame(
        {"site": site, "ts": ts, "session": session, "event": event}
    ).sort_values(["site", "ts", "session", "event"], kind="stable")
    assert order.tolist() == expected.index.tolist()


def test_many_sites_use_wide_codes() -> None:
    rng = np.random.default_rng(4)
    n = 100_000
    site = rng.integers(0, 70_000, n).astype(np.int32)
    ts = np.sort(rng.integers(0, 10**9, n)).astype(np.int64)
    zeros = np.zeros(n, dtype=np.int32)
    order, sorted_site, _ = _sort_order(site, ts, zeros, zeros)
    assert np.array_equal(sorted_site, site[order])
    assert np.all(np.diff(site[order]) >= 0)
