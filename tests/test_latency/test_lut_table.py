"""The latency-table format: keys, validation, lookups, warnings."""
import json
import warnings

import pytest

import densenas_mm  # noqa: F401
from densenas_mm.latency import (SCHEMA, LatencyTable, LatencyTableError,
                                 LatencyTableWarning, OpSignature)

META = dict(
    device='test-device',
    batch_size=32,
    dtype='float32',
    memory_format='contiguous',
    unit='ms')
SIG = OpSignature('mbconv_k3_t6', 16, 24, 2, 112, 112, 32)


def small_table():
    table = LatencyTable(META)
    table.add(SIG, 1.5, 0.1, 20)
    table.add(
        OpSignature('stem+mbconv_k3_t1', 3, 16, 2, 224, 224, 32), 2.0, 0.2, 10)
    return table


def test_key_round_trip_and_fields():
    assert SIG.key == 'mbconv_k3_t6|c16-24|s2|r112x112|b32|float32|contiguous'
    assert OpSignature.from_key(SIG.key) == SIG
    assert (SIG.kernel, SIG.expansion, SIG.out_hw) == (3, 6, (56, 56))
    stem = OpSignature.from_key(
        'stem+mbconv_k3_t1|c3-16|s2|r224x224|b1|float32|channels_last')
    assert stem.kernel == 3 and stem.memory_format == 'channels_last'
    with pytest.raises(ValueError, match='malformed latency-table key'):
        OpSignature.from_key('mbconv_k3_t6/16/24')
    with pytest.raises(ValueError, match='unknown op'):
        OpSignature.from_key('conv9|c1-1|s1|r1x1|b1|float32|contiguous')


def test_save_load_round_trip(tmp_path):
    path = tmp_path / 'lut.json'
    small_table().save(str(path))
    data = json.loads(path.read_text())
    assert data['schema'] == SCHEMA and data['version'] == 3
    entry = data['entries'][SIG.key]
    assert entry['kernel'] == 3 and entry['expansion'] == 6
    assert (entry['latency'], entry['mean'], entry['std'],
            entry['count']) == (1.5, 1.5, 0.1, 20)
    loaded = LatencyTable.load(str(path))
    assert loaded.latency(SIG) == 1.5 and len(loaded) == 2


def test_lookup_uses_the_table_setting():
    table = small_table()
    batch1 = SIG.with_setting(1, 'float32', 'contiguous')
    assert batch1 in table and table.latency(batch1) == 1.5
    skip = OpSignature('skip_connect', 24, 24, 1, 56, 56)
    assert table.latency(skip) == 0.0 and table.missing([skip]) == []


@pytest.mark.parametrize('edit,match', [
    (lambda d: d.update(schema='other'), 'not a densenas_mm latency table'),
    (lambda d: d.update(version=99), 'schema version 99 is not supported'),
    (lambda d: d['metadata'].pop('device'), r"metadata lacks \['device'\]"),
    (lambda d: d['metadata'].update(unit='s'), 'unit must be "ms"'),
    (lambda d: d['entries'][SIG.key].update(mean=-1.0), 'mean must be'),
    (lambda d: d['entries'][SIG.key].update(count=0), 'count must be'),
    (lambda d: d['entries'][SIG.key].update(c_in=17),
     'field c_in=17 disagrees with the key'),
    (lambda d: d['entries'][SIG.key].pop('latency'),
     r"lacks fields \['latency'\]"),
    (lambda d: d['entries'][SIG.key].update(latency=float('nan')),
     'latency must be a finite number'),
    (lambda d: d['entries'][SIG.key].update(rounds=[1.0, 2.0]),
     'rounds and round_minima must be given together'),
    (lambda d: d['entries'][SIG.key].update(
        rounds=[1.0, 2.0], round_minima=[1.0]), 'one value per round'),
    (lambda d: d['entries'][SIG.key].update(
        rounds=[1.0, -2.0], round_minima=[1.0, 1.0]), 'rounds must be a'),
    (lambda d: d['entries'][SIG.key].update(noisy='no'),
     'noisy must be true or false'),
])
def test_validation_names_the_problem(edit, match):
    data = small_table().to_dict()
    edit(data)
    with pytest.raises(LatencyTableError, match=match):
        LatencyTable.from_dict(data)


def test_missing_file_and_bad_json(tmp_path):
    with pytest.raises(LatencyTableError, match='build_latency_lut.py'):
        LatencyTable.load(str(tmp_path / 'none.json'))
    bad = tmp_path / 'bad.json'
    bad.write_text('{')
    with pytest.raises(LatencyTableError, match='not valid JSON'):
        LatencyTable.load(str(bad))


def test_require_names_missing_keys():
    table = small_table()
    need = [
        SIG,
        OpSignature('conv1_1', 384, 1984, 1, 7, 7, 32),
        OpSignature('classifier', 1984, 100, 1, 7, 7, 32)
    ]
    with pytest.raises(LatencyTableError) as err:
        table.require(need, "space 'x'")
    msg = str(err.value)
    assert 'lacks 2 of 3 entries' in msg and "space 'x'" in msg
    assert 'conv1_1|c384-1984|s1|r7x7|b32|float32|contiguous' in msg
    assert 'classifier|c1984-100|s1|r7x7|b32|float32|contiguous' in msg
    assert 'tools/build_latency_lut.py' in msg
    assert len(err.value.missing) == 2
    with pytest.raises(LatencyTableError, match='has no entry'):
        table.latency(need[1])


def test_check_target_warns_for_other_device_or_batch():
    table = small_table()
    with pytest.warns(LatencyTableWarning, match="measured on 'test-device'"):
        table.check_target(device='NVIDIA H100')
    with pytest.warns(
            LatencyTableWarning,
            match='batch size 32 but is used '
            'for batch size 1'):
        table.check_target(batch_size=1)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert table.check_target('test-device', 32) == []


def test_add_rejects_other_setting():
    with pytest.raises(LatencyTableError, match='does not match the table'):
        small_table().add(
            SIG.with_setting(8, 'float32', 'contiguous'), 1.0, 0.0, 1)


def v1_content():
    """A version 1 file as the earlier builder wrote it."""
    data = small_table().to_dict()
    data['version'] = 1
    for entry in data['entries'].values():
        del entry['latency']
    return data


def test_version_1_tables_are_read_and_say_what_they_lack(tmp_path):
    table = LatencyTable.from_dict(v1_content(), 'old.json')
    assert table.version == 1 and table.latency(SIG) == 1.5
    quality = table.check_quality()  # not refused: only unchecked
    assert quality.status == 'unchecked'
    assert 'schema version 1' in quality.reason
    assert 'no interleaved rounds' in quality.reason
    with pytest.raises(LatencyTableError, match=r"lacks fields \['mean'\]"):
        data = v1_content()
        del data['entries'][SIG.key]['mean']
        LatencyTable.from_dict(data)
    # saved again it is version 3 and still says where it came from
    path = tmp_path / 'up.json'
    table.save(str(path))
    again = LatencyTable.load(str(path))
    assert again.version == 3
    assert again.metadata['upgraded_from_version'] == 1
    assert 'schema version 1' in again.quality.reason


def test_add_rounds_keeps_the_statistic_and_the_noise():
    from densenas_mm.utils.rounds import RoundStats
    table = small_table()
    stats = RoundStats((2.0, 6.0, 3.0), (1.0, 4.0, 2.5), 9,
                       'median_of_medians')
    table.add_rounds(SIG, stats, tolerance=0.5)
    entry = table.entry(SIG)
    assert table.latency(SIG) == 3.0 and entry['count'] == 9
    assert entry['rounds'] == [2.0, 6.0, 3.0]
    assert entry['round_minima'] == [1.0, 4.0, 2.5]
    # deviations from 3: 1, 3, 0 -> MAD 1 -> 1.858 / sqrt(3) / 3
    assert entry['rel_err'] == pytest.approx(0.3576, abs=1e-4)
    assert entry['noisy'] is False
    table.add_rounds(SIG, stats, tolerance=0.3)
    assert table.entry(SIG)['noisy'] is True
    assert table.round_stats(SIG.key, 'median_of_minima').value == 2.5
    assert table.round_stats(SIG.key, 'min_of_minima').value == 1.0
    assert table.round_stats(
        'stem+mbconv_k3_t1|c3-16|s2|r224x224|b32|float32|contiguous') is None


def marked(status):
    table = small_table()
    table.metadata['quality'] = dict(
        status=status,
        reason='3 of 46 entries (7 %) kept rounds ...',
        noisy=[SIG.key])
    return table


def test_a_noisy_table_is_refused_unless_allowed():
    table = marked('noisy')
    with pytest.raises(LatencyTableError) as err:
        table.check_quality()
    msg = str(err.value)
    assert 'is marked noisy: 3 of 46 entries (7 %)' in msg
    assert 're-measures only the noisy entries' in msg
    assert 'allow_noisy_lut=True' in msg
    with pytest.warns(LatencyTableWarning, match='used anyway'):
        assert table.check_quality(allow_noisy=True).noisy == (SIG.key, )
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert marked('ok').check_quality().status == 'ok'
    partial = marked('noisy')
    partial.complete = False
    assert partial.quality.status == 'unchecked'
    assert 'partial' in partial.quality.reason
    imported = small_table()
    imported.metadata.update(imported=True, source='reference table')
    assert 'imported (reference table' in imported.quality.reason


def test_an_imported_version_1_table_says_it_is_imported():
    data = v1_content()
    data['metadata'].update(
        imported=True,
        source='reference table',
        device='TITAN-Xp (reference table)')
    quality = LatencyTable.from_dict(data).quality
    assert quality.status == 'unchecked'
    assert quality.reason.startswith(
        "it is imported (reference table, device 'TITAN-Xp (reference "
        "table)'): one number per op measured elsewhere")
