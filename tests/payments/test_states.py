import pytest

from kopek.errors import InvalidState
from kopek.payments import states


def test_terminal_states_go_nowhere():
    assert states.TERMINAL == {"succeeded", "failed", "canceled", "expired"}
    for status in states.TERMINAL:
        for target in states.STATUSES:
            assert not states.can_move(status, target)


@pytest.mark.parametrize(("current", "target"), [
    ("requires_wallet", "requires_confirmation"), ("requires_wallet", "processing"),
    ("requires_wallet", "canceled"), ("requires_wallet", "expired"),
    ("requires_confirmation", "processing"), ("requires_confirmation", "requires_wallet"),
    ("requires_confirmation", "canceled"), ("requires_confirmation", "expired"),
    ("processing", "succeeded"), ("processing", "requires_wallet"), ("processing", "failed"),
])
def test_design_transitions_are_allowed(current, target):
    assert states.can_move(current, target)


@pytest.mark.parametrize(("current", "target"), [
    ("requires_wallet", "succeeded"), ("requires_confirmation", "succeeded"),
    ("processing", "canceled"), ("processing", "expired"), ("processing", "requires_confirmation"),
])
def test_shortcuts_are_refused_with_the_current_status(current, target):
    with pytest.raises(InvalidState) as caught:
        states.check_move(current, target, "do that to")
    assert caught.value.status == 409
    assert caught.value.extra["status"] == current


def test_every_arrival_has_an_event_type():
    targets = {t for ts in states.TRANSITIONS.values() for t in ts}
    assert targets <= set(states.EVENT_TYPES)
