"""SqlClaimStore on real PostgreSQL and SQLite: exactly one owner per cell under races, stale and failed claims."""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import subprocess
import threading
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from ablations.storage.claims import ClaimStore, open_claim_store
from ablations.storage.claims.sql import ClaimStoreError, SqlClaimStore
from tests.children import open_store, race_claims

CELLS = [f"cell{i:02d}" for i in range(24)]


def test_satisfies_the_claim_store_protocol(sqlite_url):
    store = open_claim_store(sqlite_url, "s", grace_s=5)
    assert isinstance(store, SqlClaimStore)
    assert isinstance(store, ClaimStore)


def test_threads_racing_each_cell_owned_by_exactly_one(db_url):
    won: dict[str, list[str]] = {}
    lock = threading.Lock()
    start = threading.Barrier(6)

    def worker(w: int) -> None:
        store = SqlClaimStore(db_url, "race", grace_s=300)
        start.wait()
        for cell in CELLS:
            if store.claim(cell, f"w{w}"):
                with lock:
                    won.setdefault(cell, []).append(f"w{w}")
        store.close()

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(won) == CELLS
    assert all(len(owners) == 1 for owners in won.values()), won
    states = SqlClaimStore(db_url, "race", grace_s=300).status()
    assert {c: s.worker for c, s in states.items()} == {c: o[0] for c, o in won.items()}
    assert {s.state for s in states.values()} == {"RUNNING"}


@pytest.mark.slow
def test_processes_racing_table_creation_and_claims(db_url):
    # fresh database: all processes create the table at once (the schema-creation race), then claim together
    ctx = mp.get_context("spawn")
    start_at = time.time() + 4.0
    with ctx.Pool(4) as pool:
        results = pool.starmap(race_claims, [(db_url, "procs", CELLS, f"p{i}", start_at) for i in range(4)])
    owners = Counter(c for won in results for c in won)
    assert sorted(owners) == CELLS
    assert set(owners.values()) == {1}, owners


@pytest.mark.slow
@pytest.mark.postgres
def test_concurrent_store_creation_on_a_fresh_postgres_database(pg_url):
    ctx = mp.get_context("spawn")
    with ctx.Pool(4) as pool:
        assert pool.starmap(open_store, [(pg_url, f"s{i}") for i in range(8)]) == [True] * 8


def test_lifecycle_complete_fail_release(db_url):
    store = SqlClaimStore(db_url, "life", grace_s=300)
    assert store.claim("a", "w1")
    assert store.claim("a", "w1")  # idempotent for the owner (e.g. a retried request)
    assert not store.claim("a", "w2")
    assert store.heartbeat("a", "w1") and not store.heartbeat("a", "w2")
    assert store.complete("a", "w1", trial_number=7)
    assert not store.claim("a", "w2") and not store.claim("a", "w1")  # COMPLETE is final
    assert not store.complete("a", "w2", trial_number=8)  # a late duplicate never overwrites the result
    st = store.status()["a"]
    assert (st.state, st.worker, st.trial_number) == ("COMPLETE", "w1", 7)

    assert store.claim("b", "w1")
    assert not store.fail("b", "w2", "not mine")
    assert store.fail("b", "w1", "CUDA out of memory")
    assert store.status()["b"].state == "FAILED" and store.status()["b"].reason == "CUDA out of memory"
    assert store.claim("b", "w2")  # failed cells are claimable again
    assert store.attempts()["b"] == 2 and store.attempts()["a"] == 1

    assert store.claim("c", "w1") and store.release("c", "w1")
    assert "c" not in store.status() and store.claim("c", "w2")


def test_studies_are_separate(db_url):
    a, b = SqlClaimStore(db_url, "study-a", 300), SqlClaimStore(db_url, "study-b", 300)
    assert a.claim("x", "w1") and b.claim("x", "w2")
    assert list(a.status()) == ["x"] and b.status()["x"].worker == "w2"


def test_stale_claims_become_claimable_after_grace(db_url):
    store = SqlClaimStore(db_url, "stale", grace_s=0.6)
    assert store.claim("a", "w1") and store.claim("b", "w1")
    assert not store.claim("a", "w2") and store.stale() == []
    time.sleep(0.3)
    assert store.heartbeat("b", "w1")  # b stays alive, a does not
    time.sleep(0.5)
    assert store.stale() == ["a"]
    assert store.claim("a", "w2") and not store.claim("b", "w2")
    assert not store.heartbeat("a", "w1")  # the old owner learns it lost the cell
    assert store.status()["a"].worker == "w2"


def test_dead_owner_on_this_host_is_taken_over_at_once(db_url):
    from ablations.storage.claims import worker_name

    proc = subprocess.Popen(["sleep", "30"], start_new_session=True)
    dead = worker_name(0).replace(f":{os.getpid()}:", f":{proc.pid}:")
    store = SqlClaimStore(db_url, "dead", grace_s=3600)
    assert store.claim("a", dead)
    assert not store.claim("a", "w2")  # owner alive
    assert store.stale() == []
    proc.kill()
    proc.wait()
    assert store.stale() == ["a"]  # the same staleness the file store reports, so runners agree on it
    assert store.claim("a", "w2")  # owner's pid is gone: no need to wait an hour of grace
    assert not store.claim("a", "w3")
    assert store.attempts()["a"] == 2


def test_pickles_without_its_connection(db_url):
    store = SqlClaimStore(db_url, "pick", grace_s=10)
    assert store.claim("a", "w1")
    clone = pickle.loads(pickle.dumps(store))
    assert clone.status()["a"].worker == "w1"
    password = sa.make_url(db_url).password
    assert password is None or (password not in repr(store) and ":***@" in repr(store))


@pytest.mark.postgres
def test_wrong_password_is_a_clear_masked_error(pg_url):
    bad = pg_url.replace(pg_url.split("//", 1)[1].split("@")[0], "avtca:not-the-password")
    with pytest.raises(ClaimStoreError) as err:
        SqlClaimStore(bad, "s", grace_s=10)
    text = str(err.value)
    assert "wrong user or password" in text and "not-the-password" not in text and "avtca:***@" in text


def test_unreachable_database_is_a_clear_error():
    with pytest.raises(ClaimStoreError, match=r"unreachable.*|could not connect") as err:
        SqlClaimStore("postgresql://avtca:hunter2@127.0.0.1:1/optuna", "s", grace_s=10)
    assert "hunter2" not in str(err.value)


def test_rejects_bad_grace(sqlite_url):
    with pytest.raises(ValueError, match="grace_s"):
        SqlClaimStore(sqlite_url, "s", grace_s=0)
