"""The copy-on-write row store shared by every estimator that keeps training rows."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

from skunlearn.utils._rowstore import RowStore, concat_rows, default_block_size


def _dense(column):
    return column.toarray() if sp.issparse(column) else np.asarray(column)


@pytest.mark.parametrize(
    "field",
    [
        np.arange(20.0).reshape(10, 2),
        sp.csr_matrix(np.arange(20.0).reshape(10, 2)),
        [f"row {i}" for i in range(10)],
    ],
    ids=["dense", "sparse", "list"],
)
def test_take_without_and_columns(field):
    store = RowStore.from_columns({"f": field, "i": np.arange(10)}, block_size=3, start=5)
    assert len(store.blocks) == 4 and len(store) == 10
    taken, new, touched = store.pop(np.array([5, 9, 10, 14]))
    assert [b for b, _ in touched] == [0, 1, 3]
    assert len(store) == 10  # unchanged
    assert_array_equal(taken["i"], [0, 4, 5, 9])
    assert_array_equal(
        _dense(taken["f"]),
        _dense(field)[[0, 4, 5, 9]] if sp.issparse(field) else np.asarray(field)[[0, 4, 5, 9]],
    )
    assert_array_equal(new.positions(), [6, 7, 8, 11, 12, 13])
    assert_array_equal(new.column("i"), [1, 2, 3, 6, 7, 8])
    assert_array_equal(new.take(np.array([7, 13]))["i"], [2, 8])
    assert new.blocks[2] is store.blocks[2]  # untouched blocks are shared
    assert_array_equal(new.without(np.array([7])).column("i"), [1, 3, 6, 7, 8])
    with pytest.raises(KeyError):
        new.take(np.array([9]))  # already removed
    with pytest.raises(KeyError):
        new.take(np.array([2]))  # before the first position


@pytest.mark.parametrize("seed", range(5))
def test_removals_keep_the_order_of_the_retained_rows(seed):
    rng = np.random.RandomState(seed)
    n = 200
    X = rng.randn(n, 3)
    store = RowStore.from_columns({"X": X, "y": np.arange(n)}, block_size=int(rng.randint(1, 40)))
    kept = np.arange(n)
    for _ in range(6):
        gone = np.sort(rng.choice(kept, size=int(rng.randint(1, 30)), replace=False))
        taken, store, _ = store.pop(gone)
        assert_array_equal(taken["X"], X[gone])  # in the order of the request
        kept = np.setdiff1d(kept, gone)
        assert_array_equal(store.positions(), kept)
        assert_array_equal(store.column("X"), X[kept])
        assert_array_equal(store.column("y"), kept)
        assert len(store) == kept.size


def test_blocks_copy_the_callers_buffer_and_never_view_it():
    X = np.arange(24.0).reshape(12, 2)
    w = np.ones(12)
    store = RowStore.from_columns({"X": X, "w": w}, block_size=4)
    X[0, 0], w[0] = -1.0, 7.0
    assert store.take(np.array([0]))["X"][0, 0] == 0.0
    assert store.take(np.array([0]))["w"][0] == 1.0
    for block in store.blocks:
        for column in block.data.values():
            assert column.base is None and not np.shares_memory(column, X)
    rebuilt = store.without(np.array([1, 5]))
    for block in rebuilt.blocks:
        assert block.data["X"].base is None


def test_whole_columns_are_new_objects():
    store = RowStore.from_columns({"X": np.arange(6.0).reshape(3, 2)}, block_size=8)
    column = store.column("X")
    column[:] = -1  # a caller may modify what it got (a transform with copy=False does)
    assert_array_equal(store.column("X"), np.arange(6.0).reshape(3, 2))


def test_pickle_keeps_rows_and_drops_forgotten_ones():
    rng = np.random.RandomState(0)
    X = rng.randn(50, 4)
    store = RowStore.from_columns({"X": X, "y": np.arange(50)}, block_size=8)
    smaller = store.without(np.array([3, 17, 40]))
    blob = pickle.dumps(smaller)
    back = pickle.loads(blob)
    assert_array_equal(back.column("X"), smaller.column("X"))
    assert_array_equal(back.positions(), smaller.positions())
    assert_array_equal(back.starts, smaller.starts) and back.block_size == 8
    for row in (3, 17, 40):
        assert X[row].tobytes() not in blob
    assert X[4].tobytes() in blob


def test_payloads_are_built_and_rebuilt_only_where_rows_left():
    built = []

    def payload(block):
        built.append(block.positions[0])
        return float(block.data["X"].sum())

    X = np.arange(10.0)[:, None]
    store = RowStore.from_columns({"X": X}, block_size=4, build_payload=payload)
    assert [b.payload for b in store.blocks] == [6.0, 22.0, 17.0]
    built.clear()
    smaller = store.without(np.array([5]), build_payload=payload)
    assert built == [4] and smaller.blocks[1].payload == 17.0
    assert smaller.blocks[0] is store.blocks[0]
    emptied = smaller.without(np.array([8, 9]), build_payload=payload)
    assert len(emptied.blocks[2]) == 0 and emptied.blocks[2].payload is None
    assert [b.positions[0] for b in emptied] == [0, 4]  # iteration skips empty blocks
    assert [b.payload for b in emptied.rebuilt(payload)] == [6.0, 17.0]


def test_appended_batches_number_their_rows_after_the_existing_ones():
    store = RowStore.from_columns({"X": np.zeros((3, 1))}, block_size=2)
    store = store.appended({"X": np.ones((3, 1))}, first=3)
    assert_array_equal(store.positions(), np.arange(6))
    assert_array_equal(store.column("X").ravel(), [0, 0, 0, 1, 1, 1])
    assert_array_equal(store.take(np.array([2, 3]))["X"].ravel(), [0, 1])
    other = RowStore.from_columns({"X": np.full((2, 1), 2.0)}, start=6)
    assert_array_equal(
        store.append(other).without(np.array([0, 6])).positions(), [1, 2, 3, 4, 5, 7]
    )


def test_given_positions_and_blocks_sized_by_bytes():
    X = np.arange(40.0).reshape(20, 2)
    positions = np.arange(20) * 3 + 1
    store = RowStore.from_columns({"X": X}, block_bytes=5 * 24, positions=positions)
    assert store.block_size == 5  # 16 bytes of X and 8 of position per row
    assert_array_equal(store.starts, positions[::5])
    assert_array_equal(store.without(positions[[0, 7]]).positions(), np.delete(positions, [0, 7]))
    assert default_block_size(100) == 16 and default_block_size(10**6) == 1024


def test_default_blocks_of_wide_rows_stay_small():
    # Forgetting a row copies its block: wide rows get fewer rows per block than sqrt(n).
    wide = np.zeros((10_000, 500))
    store = RowStore.from_columns({"X": wide, "y": np.zeros(10_000)})
    # 4,016 bytes per row (X, y and the position): 131,072 // 4,016 = 32 rows per block.
    assert store.block_size == 32 < default_block_size(10_000)
    narrow = RowStore.from_columns({"X": np.zeros((10_000, 2))})
    assert narrow.block_size == default_block_size(10_000)
    left = store.without(np.array([0, 31, 32, 9_999]))
    assert len(left) == 9_996 and len(left.blocks[0]) == 30 and len(left.blocks[1]) == 31


def test_chunks_cover_the_rows_in_order():
    rng = np.random.RandomState(1)
    X, w = rng.randn(100, 2), rng.rand(100)
    store = RowStore.from_columns({"X": X, "w": w, "none": None}, block_size=7)
    store = store.without(np.array([0, 50, 99]))
    chunks = list(store.chunks(["X", "w", "none"], chunk_bytes=300))
    assert len(chunks) > 1
    assert_array_equal(np.concatenate([c["X"] for c in chunks]), store.column("X"))
    assert_array_equal(np.concatenate([c["w"] for c in chunks]), store.column("w"))
    assert all(c["none"] is None for c in chunks) and store.column("none") is None


def test_pandas_columns_keep_their_kind():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": np.arange(6), "b": list("uvwxyz")})
    store = RowStore.from_columns({"X": frame}, block_size=4).without(np.array([1, 4]))
    kept = store.column("X")
    assert list(kept.columns) == ["a", "b"] and kept["b"].tolist() == ["u", "w", "x", "z"]


def test_dense_and_sparse_batches_stack_as_sparse():
    store = RowStore.from_columns({"X": np.ones((2, 2))})
    store = store.append(RowStore.from_columns({"X": sp.csr_matrix(np.zeros((2, 2)))}, start=2))
    mixed = store.column("X")
    assert sp.issparse(mixed) and mixed.shape == (4, 2)
    assert_array_equal(mixed.toarray(), [[1, 1], [1, 1], [0, 0], [0, 0]])
    assert sp.issparse(concat_rows([sp.csr_matrix(np.ones((1, 2))), np.zeros((1, 2))]))


def test_empty_requests_take_nothing_and_change_nothing():
    store = RowStore.from_columns({"X": np.ones((4, 3)), "w": None}, block_size=2)
    taken, same, touched = store.pop(np.empty(0, dtype=np.intp))
    assert taken["X"].shape == (0, 3) and taken["w"] is None and touched == []
    assert same.blocks == store.blocks
