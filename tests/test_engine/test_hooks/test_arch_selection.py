"""TopK: the architectures the search keeps, by supernet validation."""
import pytest

from densenas_mm.engine.hooks.arch_selection import Candidate, TopK


def test_keeps_the_k_best_best_first():
    top = TopK(2)
    assert top.best() is None
    assert top.add(1, 50.0)
    assert top.add(2, 60.0)
    assert not top.add(3, 40.0)  # worse than both kept
    assert top.add(4, 55.0)
    assert top.kept == [Candidate(2, 60.0), Candidate(4, 55.0)]
    assert top.best() == Candidate(2, 60.0)


def test_a_later_epoch_wins_a_tie_as_in_the_reference():
    top = TopK(2)
    top.add(5, 70.0)
    top.add(6, 70.0)
    assert [c.epoch for c in top.kept] == [6, 5]
    assert top.add(7, 70.0)
    assert [c.epoch for c in top.kept] == [7, 6]


def test_less_is_better_for_a_loss():
    top = TopK(1, rule='less')
    top.add(1, 0.9)
    top.add(2, 0.4)
    top.add(3, 0.7)
    assert top.kept == [Candidate(2, 0.4)]


def test_a_repeated_epoch_replaces_its_score():
    top = TopK(3)
    top.add(1, 10.0)
    top.add(1, 12.0)
    assert top.kept == [Candidate(1, 12.0)]


def test_state_round_trip_merge_and_until():
    top = TopK(2)
    for epoch, score in ((1, 3.0), (2, 9.0), (3, 5.0)):
        top.add(epoch, score)
    state = top.state()
    assert state == dict(
        k=2,
        rule='greater',
        kept=[dict(epoch=2, score=9.0),
              dict(epoch=3, score=5.0)])
    again = TopK(2)
    again.merge(TopK.candidates(state))
    assert again.kept == top.kept
    again.until(2)  # resumed from epoch 2: epoch 3 will be run again
    assert again.kept == [Candidate(2, 9.0)]
    assert TopK.candidates(None) == []


@pytest.mark.parametrize('k,rule,match', [
    (0, 'greater', 'topk must be an int >= 1'),
    (2.5, 'greater', 'topk must be an int >= 1'),
    (2, 'bigger', "rule must be one of .*'bigger'"),
])
def test_bad_settings_are_rejected(k, rule, match):
    with pytest.raises(ValueError, match=match):
        TopK(k, rule)
