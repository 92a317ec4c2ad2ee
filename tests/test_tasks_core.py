"""The tasks extension's core: the task state machine, its wire shapes (validated
against the extension's published schema), its params and its negotiation."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from scaled_mcp.protocol.jsonrpc import (
    ErrorCode,
    LocalProtocolError,
    Notification,
    RemoteProtocolError,
)
from scaled_mcp.protocol.stateless import SubscriptionFilter
from scaled_mcp.protocol.tasks import (
    TASKS_EXTENSION,
    TaskFinished,
    TaskRecord,
    TaskStatus,
    declares_tasks,
    iso_timestamp,
    parse_task_params,
    require_tasks_extension,
    task_ack,
    task_not_found,
    task_status_notification,
)

from .spec import validate

T0 = 1_785_000_000.0
ELICIT = {
    "method": "elicitation/create",
    "params": {
        "mode": "form",
        "message": "Your name?",
        "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}},
    },
}


def new(**overrides: Any) -> TaskRecord:
    return TaskRecord.new("t-1", owner="session:a", node_id="n1", now=T0, **overrides)


def check_wire(record: TaskRecord) -> None:
    """Every shape the record makes is valid per the extension's schema."""
    validate("ext-tasks", "GetTaskResult", record.get_result())
    validate("ext-tasks", "DetailedTask", record.detailed())
    validate("ext-tasks", "Task", record.task())
    validate(
        "ext-tasks",
        "TaskStatusNotification",
        {
            "jsonrpc": "2.0",
            "method": "notifications/tasks",
            "params": task_status_notification(record),
        },
    )


# -- timestamps ------------------------------------------------------------------------


@given(st.floats(min_value=0, max_value=253_402_300_799, allow_nan=False))
def test_iso_timestamp_agrees_with_datetime(seconds: float) -> None:
    millis = int(seconds * 1000)
    expected = datetime.datetime.fromtimestamp(millis // 1000, datetime.UTC).replace(
        microsecond=(millis % 1000) * 1000
    )
    assert iso_timestamp(seconds) == expected.isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


# -- the state machine -----------------------------------------------------------------


class TaskMachine(RuleBasedStateMachine):
    """Any sequence of what the handler and the client do keeps the record valid:
    terminal states are final, only outstanding keys are answered, a finished task
    keeps no questions or answers, and every shape validates."""

    def __init__(self) -> None:
        super().__init__()
        self.record = new()
        self.now = T0
        self.issued: set[str] = set()
        self.final: TaskRecord | None = None

    def tick(self) -> float:
        self.now += 1.5
        return self.now

    @rule(keys=st.sets(st.sampled_from(["a", "b", "c", "d", "e", "f"]), min_size=1, max_size=3))
    def ask(self, keys: set[str]) -> None:
        fresh = keys - self.issued
        if self.record.status.terminal:
            with pytest.raises(TaskFinished):
                self.record.ask(dict.fromkeys(keys, ELICIT), now=self.tick())
            return
        if fresh != keys:
            with pytest.raises(LocalProtocolError):
                self.record.ask(dict.fromkeys(keys, ELICIT), now=self.tick())
            return
        self.record = self.record.ask(dict.fromkeys(keys, ELICIT), now=self.tick())
        self.issued |= keys
        assert self.record.status is TaskStatus.INPUT_REQUIRED

    @rule(keys=st.sets(st.sampled_from(["a", "b", "c", "d", "e", "f", "zz"]), max_size=3))
    def answer(self, keys: set[str]) -> None:
        before = self.record
        after = before.answer({key: {"action": "accept"} for key in keys}, now=self.tick())
        if before.status.terminal:
            assert after is before
            return
        outstanding = set(before.input_requests)
        assert set(after.input_requests) == outstanding - keys
        assert set(after.answers) == set(before.answers) | (outstanding & keys)
        if after.input_requests:
            assert after.status is TaskStatus.INPUT_REQUIRED
        elif outstanding:
            assert after.status is TaskStatus.WORKING
        self.record = after

    @rule(keys=st.sets(st.sampled_from(["a", "b", "c", "d", "e", "f"])))
    def take(self, keys: set[str]) -> None:
        found, rest = self.record.take_answers(keys)
        assert set(found) == keys & set(self.record.answers)
        assert not set(rest.answers) & keys
        self.record = rest

    @rule(is_error=st.booleans())
    def complete(self, is_error: bool) -> None:
        self.end(lambda r: r.complete({"content": [], "isError": is_error}, now=self.tick()))

    @rule()
    def fail(self) -> None:
        self.end(lambda r: r.fail(ErrorCode.INTERNAL_ERROR, "boom", now=self.tick()))

    @rule()
    def cancel(self) -> None:
        self.end(lambda r: r.cancel(now=self.tick()))

    def end(self, transition: Any) -> None:
        if self.record.status.terminal:
            with pytest.raises(TaskFinished):
                transition(self.record)
            return
        self.record = transition(self.record)
        self.final = self.record

    @precondition(lambda self: self.final is not None)
    @invariant()
    def terminal_is_final(self) -> None:
        assert self.record == self.final
        assert self.record.input_requests == {} and self.record.answers == {}

    @invariant()
    def valid(self) -> None:
        check_wire(self.record)
        assert TaskRecord.from_json(self.record.to_json()) == self.record
        assert self.record.updated_at >= self.record.created_at


TestTaskMachine = TaskMachine.TestCase
TestTaskMachine.settings = settings(max_examples=40, stateful_step_count=15, deadline=None)


# -- shapes ------------------------------------------------------------------------------


def test_create_task_result_is_flat_and_valid() -> None:
    created = new(ttl_ms=60_000, poll_ms=250).created_result()
    validate("ext-tasks", "CreateTaskResult", created)
    assert created["resultType"] == "task"
    assert created["ttlMs"] == 60_000 and created["pollIntervalMs"] == 250
    assert created["createdAt"] == "2026-07-25T17:20:00.000Z"
    for absent in (
        "task",
        "ttl",
        "pollInterval",
        "result",
        "error",
        "inputRequests",
        "requestState",
    ):
        assert absent not in created


def test_detailed_task_carries_what_its_status_needs() -> None:
    asking = new().ask({"k": ELICIT}, now=T0 + 1)
    assert asking.detailed()["inputRequests"] == {"k": ELICIT}
    done = asking.answer({"k": {"action": "accept"}}, now=T0 + 2).complete(
        {"content": [{"type": "text", "text": "ok"}]}, now=T0 + 3
    )
    assert done.get_result()["result"]["content"][0]["text"] == "ok"
    assert "error" not in done.detailed() and "inputRequests" not in done.detailed()
    failed = new().fail(-32603, "boom", now=T0 + 1, data={"x": 1})
    assert failed.detailed()["error"] == {"code": -32603, "message": "boom", "data": {"x": 1}}
    assert "result" not in failed.detailed()
    for record in (asking, done, failed, new().cancel(now=T0 + 1)):
        check_wire(record)
        assert record.get_result()["resultType"] == "complete"


def test_ack_is_an_empty_complete_result() -> None:
    validate("ext-tasks", "UpdateTaskResult", task_ack())
    validate("ext-tasks", "CancelTaskResult", task_ack())
    assert task_ack() == {"resultType": "complete"}


def test_a_record_is_bound_to_its_owner_and_expires_with_its_ttl() -> None:
    record = new(ttl_ms=5_000)
    assert record.visible_to("session:a") and not record.visible_to("session:b")
    assert not record.visible_to("")
    assert record.expires_at() == T0 + 5


@pytest.mark.parametrize(
    "bad",
    [{"id": "x"}, {**new().to_json(), "status": "sleeping"}, {**new().to_json(), "ttl": None}],
)
def test_an_unreadable_record_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"not a task record|is not a valid"):
        TaskRecord.from_json(bad)


@pytest.mark.parametrize("kwargs", [{"ttl_ms": 0}, {"poll_ms": -1}])
def test_a_record_needs_positive_durations(kwargs: dict[str, int]) -> None:
    with pytest.raises(LocalProtocolError):
        new(**kwargs)


# -- params and negotiation ---------------------------------------------------------------


def test_params_of_the_three_methods() -> None:
    assert parse_task_params("tasks/get", {"taskId": "abc"}) == ("abc", {})
    responses = {"k": {"action": "accept", "content": {"name": "x"}}}
    params = {"taskId": "abc", "inputResponses": responses}
    validate(
        "ext-tasks",
        "UpdateTaskRequest",
        {"jsonrpc": "2.0", "id": 1, "method": "tasks/update", "params": params},
    )
    assert parse_task_params("tasks/update", params) == ("abc", responses)
    assert parse_task_params("tasks/cancel", {"taskId": "abc"})[0] == "abc"


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("tasks/get", None),
        ("tasks/get", {"taskId": 7}),
        ("tasks/get", {"taskId": ""}),
        ("tasks/cancel", {"taskId": "x" * 129}),
        ("tasks/update", {"taskId": "abc"}),
        ("tasks/update", {"taskId": "abc", "inputResponses": []}),
    ],
)
def test_malformed_params_are_invalid_params(method: str, params: Any) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        parse_task_params(method, params, request_id=4)
    assert caught.value.code == ErrorCode.INVALID_PARAMS and caught.value.request_id == 4


def test_unknown_task_is_invalid_params() -> None:
    error = task_not_found("nope", request_id=9)
    assert error.code == ErrorCode.INVALID_PARAMS and error.request_id == 9


def test_the_extension_is_declared_per_request() -> None:
    assert declares_tasks({"extensions": {TASKS_EXTENSION: {}}})
    assert not declares_tasks({})
    assert not declares_tasks({"extensions": {TASKS_EXTENSION: True}})
    assert not declares_tasks({"extensions": []})
    require_tasks_extension({"extensions": {TASKS_EXTENSION: {}}})
    with pytest.raises(RemoteProtocolError) as caught:
        require_tasks_extension({"sampling": {}}, request_id=3)
    error = caught.value
    assert error.code == ErrorCode.MISSING_REQUIRED_CLIENT_CAPABILITY and error.http_status == 400
    assert error.data == {"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}}


def test_a_listen_filter_names_tasks_and_is_granted_with_the_extension() -> None:
    wanted = SubscriptionFilter.from_json({"taskIds": ["a", "b", "a"], "toolsListChanged": True})
    assert wanted.task_ids == ("a", "b")
    assert wanted.to_json() == {"toolsListChanged": True, "taskIds": ["a", "b"]}
    granted = wanted.granted_by({"extensions": {TASKS_EXTENSION: {}}})
    assert granted.task_ids == ("a", "b") and not granted.tools_list_changed
    assert wanted.granted_by({"tools": {"listChanged": True}}).task_ids == ()
    status = Notification("notifications/tasks", {"taskId": "a", "status": "working"})
    assert granted.wants(status)
    assert not granted.wants(Notification("notifications/tasks", {"taskId": "c"}))
    validate(
        "ext-tasks",
        "TaskSubscriptionNotifications",
        {"taskIds": list(wanted.task_ids)},
    )
    for bad in ({"taskIds": "a"}, {"taskIds": [1]}, {"taskIds": ["x"] * 2000}):
        with pytest.raises(RemoteProtocolError):
            SubscriptionFilter.from_json(bad)
