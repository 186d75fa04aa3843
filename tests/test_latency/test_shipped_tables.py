"""The paper's latency tables shipped in resources/latency/."""
import ast
import hashlib
import json
from pathlib import Path

import pytest

import densenas_mm  # noqa: F401
from densenas_mm.latency import LatencyTable, OpSignature, space_ops
from densenas_mm.search_space import load_preset
from helpers.tools import load_tool

REPO = Path(__file__).resolve().parents[2]
RES = REPO / 'resources' / 'latency'
# sha256 of the files of JaminFong/DenseNAS@e479206 latency_list/
SHA256 = {
    'lat_list_densenas_mbv2_xp32':
    '73d6e2be82e595db54453f48f1cfbe80c727e97b39f4eac0255ffd9a2592ae19',
    'lat_list_resv2_32':
    '24e1821499b12e8b4e612a58d34056aed4ffbd074901225e21a82769cac54ad9',
}
TABLES = [('lat_list_densenas_mbv2_xp32', 'densenas_mbv2_224_ref_b32.json',
           'densenas_mbv2_224', 402),
          ('lat_list_resv2_32', 'densenas_resnet_224_ref_b32.json',
           'densenas_resnet_224', 123)]


def test_lists_are_the_papers_files_with_their_license():
    for name, digest in SHA256.items():
        assert hashlib.sha256((RES / name).read_bytes()).hexdigest() == \
            digest, name
    license_text = (RES / 'LICENSE').read_text()
    assert 'Apache License' in license_text and 'Version 2.0' in \
        license_text
    readme = (RES / 'README.md').read_text()
    assert 'JaminFong/DenseNAS' in readme and 'e479206' in readme


@pytest.mark.parametrize('src,table,preset,entries', TABLES)
def test_shipped_table_is_the_importers_output(src, table, preset, entries,
                                               tmp_path):
    """Regenerate with the commands of resources/latency/README.md when this
    fails after a change of the importer."""
    out = tmp_path / table
    tool = load_tool('analysis/import_reference_lut.py')
    assert tool.main([str(RES / src), '--out', str(out)]) == 0
    fresh, shipped = (json.loads(p.read_text()) for p in (out,
                                                          RES / table))
    for data in (fresh, shipped):
        data['metadata'].pop('created')
    assert shipped == fresh
    assert len(shipped['entries']) == entries


def test_mbv2_table_covers_the_search_config_and_holds_the_stem():
    table = LatencyTable.load(str(RES / 'densenas_mbv2_224_ref_b32.json'))
    space = load_preset('densenas_mbv2_224')
    table.require(space_ops(space, batch_size=32).unique(), 'the paper space')
    stem = ast.literal_eval(
        (RES / 'lat_list_densenas_mbv2_xp32').read_text().strip())[0]
    sig = OpSignature('stem+mbconv_k3_t1', 3, 16, 2, 224, 224, 32)
    assert table.latency(sig) == stem == pytest.approx(2.1302, abs=1e-4)
