"""LangGraph's checkpointer conformance suite against the saver cmo uses, as cmo configures it:
AsyncSqliteSaver on an autocommit aiosqlite connection with cmo's serializer (the stock format,
strict msgpack allowlist, legacy-aware reads), opened through graphs.storage.checkpoint.open_saver.

No large-value path remains (values are never moved out of the checkpoint any more), so there is
no second configuration to force. The SQLite saver implements no prune / copy_thread /
delete_for_runs: the test asserts exactly that these are the capabilities not detected, and that
every detected one passes.
"""

from __future__ import annotations

from graphs.storage.checkpoint import LegacyAwareSerializer, open_saver

NOT_IMPLEMENTED_BY_SQLITE = {"prune", "copy_thread", "delete_for_runs"}


async def test_cmo_saver_passes_the_conformance_suite(tmp_path):
    from langgraph.checkpoint.conformance import checkpointer_test, validate

    counter = {"n": 0}

    @checkpointer_test(name="cmo AsyncSqliteSaver")
    async def factory():
        counter["n"] += 1
        async with open_saver(tmp_path / f"conformance-{counter['n']}.sqlite") as saver:
            assert isinstance(saver.serde, LegacyAwareSerializer) or \
                isinstance(getattr(saver.serde, "serde", None), LegacyAwareSerializer)
            yield saver

    report = await validate(factory)
    failures = {name: result.failures for name, result in report.results.items()
                if result.detected and result.passed is not True}
    assert failures == {}, failures
    skipped = {name for name, result in report.results.items() if not result.detected}
    assert skipped == NOT_IMPLEMENTED_BY_SQLITE, skipped
    passed = sum(1 for result in report.results.values() if result.detected and result.passed)
    assert passed == len(report.results) - len(NOT_IMPLEMENTED_BY_SQLITE)
    assert sum(r.tests_failed for r in report.results.values()) == 0
    assert sum(r.tests_passed for r in report.results.values()) > 0
    assert report.conformance_level() == "FULL"
