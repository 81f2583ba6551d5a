"""Profiles on SQLite: persistence, history, change detection, and profiles.yaml for the loader."""

from __future__ import annotations

import errno
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtt_topology.errors import InputError, StoreError
from rtt_topology.load import read_profiles
from rtt_topology.remote.server.profile_store import ProfileStore
from tests.remote.server.store_lines import RecordingOps

AT = datetime(2026, 1, 19, 15, tzinfo=UTC)
AUTH = {"rtt_version": "1.0", "supports": ["drift"], "contact": "ops@example.com"}


def _profile(version: str = "1.0", **extra: object) -> dict[str, object]:
    return {"rtt_version": version, "supports": ["coherence", "drift"], **extra}


def _with(extra: dict[str, object]) -> dict[str, object]:
    return {"rtt_version": "1.0", "supports": ["coherence", "drift"], **extra}


def test_profiles_persist_across_reopen_with_their_history(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    assert store.get("auth") is None
    assert store.all() == {}
    assert store.history() == []
    assert not (tmp_path / "profiles.yaml").exists()  # no profile, no file
    assert store.put("auth", AUTH, received_at=AT) is False  # new: not a change
    assert store.put("db", _profile(), received_at=AT + timedelta(seconds=1)) is False
    assert store.put("auth", dict(reversed(AUTH.items())), received_at=AT) is False  # same
    assert store.put("auth", {**AUTH, "rtt_version": "1.1"}, received_at=AT) is True
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.get("auth")

    again = ProfileStore(tmp_path)
    assert again.get("auth") == {**AUTH, "rtt_version": "1.1"}
    assert list(again.all()) == ["auth", "db"]
    history = again.history()
    assert [(h["site"], h["change"]) for h in history] == [
        ("auth", "new"),
        ("db", "new"),
        ("auth", "same"),
        ("auth", "changed"),
    ]
    assert history[1]["received_at"] == AT + timedelta(seconds=1)
    assert history[1]["received_at"].tzinfo is UTC
    assert [h["profile"]["rtt_version"] for h in again.history("auth")] == ["1.0", "1.0", "1.1"]
    assert again.history("nobody") == []
    again.close()


@pytest.mark.parametrize(
    ("before", "after", "changed"),
    [
        ({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1}, False),  # key order does not matter
        ({"a": 1}, {"a": 1.0}, True),
        ({"a": 1}, {"a": True}, True),
        ({"a": [1, 2]}, {"a": [2, 1]}, True),
        ({"a": {"x": None}}, {"a": {}}, True),
    ],
)
def test_a_change_is_a_different_canonical_json(
    tmp_path: Path, before: dict[str, object], after: dict[str, object], changed: bool
) -> None:
    store = ProfileStore(tmp_path)
    store.put("s", _with(before), received_at=AT)
    assert store.put("s", _with(after), received_at=AT) is changed
    assert store.get("s") == _with(after if changed else before)
    store.close()


def test_profiles_yaml_is_rewritten_atomically_and_read_by_the_loader(tmp_path: Path) -> None:
    ops = RecordingOps()
    store = ProfileStore(tmp_path, file_ops=ops)
    store.put("auth-service", {**AUTH, "depends_on": ["db"]}, received_at=AT)
    names = [name for name, _ in ops.calls]
    assert names == ["open_new", "fsync", "rename", "fsync_dir"]
    assert ops.calls[2] == ("rename", str(tmp_path / "profiles.yaml"))
    store.put("db", _profile(tags=["storage"]), received_at=AT)
    store.put("db", _profile(tags=["storage"]), received_at=AT)  # same: no rewrite
    assert ops.count("rename") == 2
    profiles, report = read_profiles(tmp_path / "profiles.yaml")
    assert sorted(profiles) == ["auth-service", "db"]
    assert profiles["auth-service"].depends_on == ["db"]
    assert profiles["db"].tags == ["storage"]
    assert report.rejected == 0
    assert not (tmp_path / "profiles.yaml.tmp").exists()
    store.close()


# A site named like a profile key makes the loader read the mapping as one profile
# (read_profiles' single-profile rule); those three names are left out here.
SITE_NAMES = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30
).filter(lambda s: s not in {"rtt_version", "version", "supports"})


@settings(max_examples=15, deadline=None)
@given(sites=st.lists(SITE_NAMES, min_size=1, max_size=4, unique=True))
def test_any_site_names_round_trip_through_profiles_yaml(sites: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = ProfileStore(folder)
        for i, site in enumerate(sites):
            store.put(site, _profile(f"1.{i}"), received_at=AT)
        store.close()
        profiles, report = read_profiles(Path(folder) / "profiles.yaml")
        assert report.rejected == 0
        assert {site: p.rtt_version for site, p in profiles.items()} == {
            site: f"1.{i}" for i, site in enumerate(sites)
        }
        # Site names are data: nothing but the store's own files is created.
        assert {p.name for p in Path(folder).iterdir()} <= {
            "profiles.sqlite3",
            "profiles.sqlite3-wal",
            "profiles.sqlite3-shm",
            "profiles.yaml",
        }


def test_site_names_are_never_paths(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "data")
    for site in ("../escape", "/etc/passwd", "a/b", "con", "profiles.yaml"):
        store.put(site, _profile(), received_at=AT)
    store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    assert not list((tmp_path / "data").rglob("*/*"))
    assert len(read_profiles(tmp_path / "data" / "profiles.yaml").profiles) == 5


@pytest.mark.parametrize(
    ("site", "profile", "received_at", "message"),
    [
        ("", AUTH, AT, "site"),
        ("auth", ["not", "a", "mapping"], AT, "expected a mapping"),
        ("auth", {"x": object()}, AT, "not JSON-serialisable"),
        ("auth", {"x": float("nan")}, AT, "not JSON-serialisable"),
        ("auth", AUTH, datetime(2026, 1, 19, 15), "naive"),
    ],
)
def test_bad_puts_are_refused_and_store_nothing(
    tmp_path: Path, site: str, profile: object, received_at: datetime, message: str
) -> None:
    store = ProfileStore(tmp_path)
    with pytest.raises(InputError, match=message):
        store.put(site, profile, received_at=received_at)  # type: ignore[arg-type]
    assert store.history() == []
    store.close()


def test_a_failed_yaml_rewrite_raises_and_heals_on_the_next_put(tmp_path: Path) -> None:
    ops = RecordingOps()
    store = ProfileStore(tmp_path, file_ops=ops)
    ops.fail["rename"] = errno.ENOSPC
    with pytest.raises(StoreError, match="cannot rewrite the profiles"):
        store.put("auth", AUTH, received_at=AT)
    assert store.get("auth") == AUTH  # the database, the truth, has it
    assert not (tmp_path / "profiles.yaml").exists()
    ops.fail.clear()
    assert store.put("auth", AUTH, received_at=AT) is False  # same profile, yet the file heals
    assert "auth" in read_profiles(tmp_path / "profiles.yaml").profiles
    store.close()


def test_open_rewrites_a_missing_profiles_yaml(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    store.put("auth", AUTH, received_at=AT)
    store.close()
    (tmp_path / "profiles.yaml").unlink()
    ProfileStore(tmp_path).close()
    assert "auth" in read_profiles(tmp_path / "profiles.yaml").profiles


def test_concurrent_puts_from_threads(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)

    def work(worker: int) -> None:
        for i in range(10):
            store.put(f"site-{worker}", _profile(f"1.{i}"), received_at=AT)
            assert store.get(f"site-{worker}") is not None

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.history()) == 40
    assert {s: p["rtt_version"] for s, p in store.all().items()} == {
        f"site-{w}": "1.9" for w in range(4)
    }
    loaded = read_profiles(tmp_path / "profiles.yaml").profiles
    assert {s: p.rtt_version for s, p in loaded.items()} == {f"site-{w}": "1.9" for w in range(4)}
    store.close()


def test_an_unusable_database_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "profiles.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"profiles\.sqlite3"):
        ProfileStore(tmp_path)
