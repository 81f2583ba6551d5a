from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from rtt_topology.errors import FormatError, InputError, LoadError, SourceNotFoundError
from rtt_topology.load.sources import (
    GZIP_FREE_BYTES,
    GZIP_MAX_RATIO,
    SourceFile,
    expand_sources,
    inflation_limit,
    open_binary,
    read_text,
    sniff,
    split_suffix,
)


@pytest.mark.parametrize(
    ("name", "kind", "compressed"),
    [
        ("a.jsonl", "jsonl", False),
        ("a.JSONL.GZ", "jsonl", True),
        ("shop.example.com.json", "json", False),
        ("a.gz", "", True),
        ("README", "", False),
    ],
)
def test_split_suffix(name: str, kind: str, compressed: bool) -> None:
    assert split_suffix(Path(name)) == (kind, compressed)


def test_expand_directory_glob_and_list(tmp_path: Path) -> None:
    for name in ("b.jsonl", "a.log", "sub/c.jsonl.gz", "notes.md", ".hidden/d.jsonl"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    files, ignored = expand_sources(tmp_path, kinds={"jsonl", "log"})
    assert [f.path.relative_to(tmp_path).as_posix() for f in files] == [
        "a.log", "b.jsonl", "sub/c.jsonl.gz",
    ]  # fmt: skip
    assert ignored == [str(tmp_path / "notes.md")]
    assert files[2].gzip
    assert files[2].label == "jsonl+gzip"
    files, _ = expand_sources(
        [str(tmp_path / "**/*.jsonl*"), tmp_path / "b.jsonl"], kinds={"jsonl"}
    )
    # Each file once, in the order given.
    assert [f.path.name for f in files] == ["b.jsonl", "c.jsonl.gz"]
    # A file named directly is taken whatever its suffix.
    files, _ = expand_sources(tmp_path / "notes.md", kinds={"jsonl"})
    assert files[0].kind == "md"


def test_expand_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError):
        expand_sources(tmp_path / "missing.jsonl", kinds={"jsonl"})
    with pytest.raises(InputError, match="no source"):
        expand_sources([], kinds={"jsonl"})


def test_open_and_sniff(tmp_path: Path) -> None:
    plain = tmp_path / "a.jsonl"
    plain.write_text('{"a": 1}\n')
    packed = tmp_path / "a.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    for path in (plain, packed):
        kind, compressed = split_suffix(path)
        file = SourceFile(path, kind, compressed)
        assert sniff(file) == b'{"a": 1}\n'
        with open_binary(file) as stream:
            assert stream.read() == b'{"a": 1}\n'
        assert read_text(file) == '{"a": 1}\n'


def test_read_text_errors(tmp_path: Path) -> None:
    fake = tmp_path / "x.json.gz"
    fake.write_text("{}")
    with pytest.raises(FormatError, match="not gzip"):
        read_text(SourceFile(fake, "json", True))
    empty = tmp_path / "e.json"
    empty.write_bytes(b"")
    with pytest.raises(LoadError, match="empty"):
        read_text(SourceFile(empty, "json", False))
    directory = tmp_path / "d.json"
    directory.mkdir()
    with pytest.raises(LoadError, match="cannot open"):
        read_text(SourceFile(directory, "json", False))


def test_read_each_file_isolates_failures(tmp_path: Path) -> None:
    from rtt_topology.load.report import LoadReport
    from rtt_topology.load.sources import read_each_file

    for name in ("a.jsonl", "b.jsonl", "c.txt"):
        (tmp_path / name).write_text("x" * 10)
    seen: list[str] = []
    progress: list[tuple[int, int, str]] = []

    def read(file: SourceFile, on_bytes: object) -> None:
        seen.append(file.path.name)
        if file.path.name == "b.jsonl":
            raise LoadError(file.path, "broken")

    report = LoadReport()
    read_each_file(
        tmp_path, kinds={"jsonl"}, report=report, read=read, progress=lambda *a: progress.append(a)
    )
    assert seen == ["a.jsonl", "b.jsonl"]
    assert [str(f) for f in report.failures] == [f"{tmp_path / 'b.jsonl'}: broken"]
    assert report.ignored_files == [str(tmp_path / "c.txt")]
    assert progress[-1][:2] == (20, 20)
    # The same file named on its own raises.
    with pytest.raises(LoadError, match="broken"):
        read_each_file(tmp_path / "b.jsonl", kinds={"jsonl"}, report=LoadReport(), read=read)


# --------------------------------------------------------------------------- gzip bounds

ZEROS_MEMBER = gzip.compress(bytes(16 << 20), compresslevel=9)


def bomb(path: Path, members: int) -> Path:
    """A gzip file of ``members`` members of 16 MiB of zeros each (about 1000:1)."""
    path.write_bytes(ZEROS_MEMBER * members)
    return path


def test_a_gzip_bomb_stops_at_the_limit(tmp_path: Path) -> None:
    # 256 MiB of zeros in 260 kB: read up to the default floor (64 MiB), not one byte more.
    path = bomb(tmp_path / "bomb.jsonl.gz", 16)
    assert inflation_limit(path.stat().st_size) == GZIP_FREE_BYTES
    file = SourceFile(path, "jsonl", True)

    def drain() -> None:
        while stream.read(1 << 20):
            pass

    with open_binary(file) as stream:
        raw = stream.raw  # type: ignore[attr-defined]
        with pytest.raises(LoadError, match=r"bomb\.jsonl\.gz: gzip data inflates past 67108864 "):
            drain()
    assert raw.inflated == GZIP_FREE_BYTES + 1


@pytest.mark.parametrize("reader", ["beacons", "profiles", "read_text"])
def test_every_reader_refuses_a_gzip_bomb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    from rtt_topology.load import read_beacons, read_profiles
    from rtt_topology.load import sources as sources_module

    # 10 MB of zeros behind one line of text: refused past 1 MiB once the floor is lowered.
    monkeypatch.setattr(sources_module, "GZIP_FREE_BYTES", 1 << 20)
    suffix = {"beacons": "jsonl", "profiles": "json", "read_text": "csv"}[reader]
    path = tmp_path / f"zeros.{suffix}.gz"
    path.write_bytes(gzip.compress(b'{"a": "' + b"0" * (10 << 20) + b'"}\n'))
    read = {
        "beacons": lambda: read_beacons(path),
        "profiles": lambda: read_profiles(path),
        "read_text": lambda: read_text(SourceFile(path, suffix, True)),
    }[reader]
    with pytest.raises(LoadError, match=r"zeros\.\w+\.gz: gzip data inflates past \d+ bytes"):
        read()


def test_a_legitimate_gzip_is_read_whole(tmp_path: Path) -> None:
    # Beacon lines compress about 25 times: far within the ratio, past the floor too.
    line = (
        b'{"site": "auth", "session": "s1", "event": "heartbeat", '
        b'"ts": "2026-01-19T15:00:%02dZ", "structure": {"dom_nodes": %d}}\n'
    )
    data = b"".join(line % (i % 60, i) for i in range(20_000))
    path = tmp_path / "ok.jsonl.gz"
    path.write_bytes(gzip.compress(data))
    file = SourceFile(path, "jsonl", True)
    ratio = len(data) / path.stat().st_size
    assert 5 < ratio < GZIP_MAX_RATIO
    # A floor below the file's size: only the ratio bounds it, and it passes.
    with open_binary(file, free_bytes=1000) as stream:
        assert stream.read() == data
    with (
        pytest.raises(LoadError, match="inflates past"),
        open_binary(file, max_ratio=ratio / 2, free_bytes=1000) as stream,
    ):
        stream.read()


def test_inflation_limit_rule() -> None:
    assert inflation_limit(0) == GZIP_FREE_BYTES
    assert inflation_limit(GZIP_FREE_BYTES) == GZIP_MAX_RATIO * GZIP_FREE_BYTES
    assert inflation_limit(1000, max_ratio=3, free_bytes=10) == 3000
    assert inflation_limit(1000, max_ratio=3, free_bytes=5000) == 5000


def test_a_file_removed_after_listing_is_a_failure_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Live stores rename segments while they are read: the listing can outlive a file.
    from rtt_topology.load import read_beacons, sources

    kept = tmp_path / "kept.jsonl"
    kept.write_text(
        '{"site": "api", "session": "s1", "event": "heartbeat", "ts": "2026-01-01T00:00:00Z",'
        ' "structure": {"url": "internal://api"}}\n',
        encoding="utf-8",
    )
    listed = sources.expand_sources

    def listing_with_a_ghost(
        source: object, *, kinds: object
    ) -> tuple[list[sources.SourceFile], list[str]]:
        files, ignored = listed(source, kinds=kinds)  # type: ignore[arg-type]
        ghost = sources.SourceFile(tmp_path / "gone.jsonl", "jsonl", False)
        return [*files, ghost], ignored

    monkeypatch.setattr(sources, "expand_sources", listing_with_a_ghost)
    frame, report = read_beacons(tmp_path)
    assert len(frame) == 1
    assert [f.source for f in report.failures] == [str(tmp_path / "gone.jsonl")]
    assert "cannot open" in report.failures[0].reason
