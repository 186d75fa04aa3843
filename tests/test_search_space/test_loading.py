"""Finding the search space in a config (one function for every consumer)."""
import pytest

from densenas_mm.search_space import (SearchSpaceError, load_preset,
                                      search_space_from_cfg)
from helpers import REPO_ROOT

DEMO_PRESET = f'{REPO_ROOT}/configs/_base_/search_spaces/densenas_demo_32.py'
DEMO_SEARCH = (f'{REPO_ROOT}/configs/densenas/'
               'densenas_supernet-demo_1xb32-20e_digits.py')


def test_preset_file_and_search_config_give_the_same_space():
    preset = search_space_from_cfg(DEMO_PRESET)
    search = search_space_from_cfg(DEMO_SEARCH)
    assert preset == search == load_preset('densenas_demo_32')
    assert preset.num_blocks == 6 and preset.input_size == 32


@pytest.mark.parametrize('path', [
    ('model', 'architecture', 'backbone'),
    ('model', 'backbone'),
    ('somewhere', 'deeply', 'nested'),
])
def test_nested_spaces_are_found(path):
    spec = load_preset('densenas_demo_32').to_dict()
    spec['name'] = 'n'
    cfg = node = {}
    for key in path:
        node[key] = {}
        node = node[key]
    node['search_space'] = spec
    assert search_space_from_cfg(cfg).name == 'n'


def test_config_without_space_is_refused():
    with pytest.raises(SearchSpaceError, match='defines no search space'):
        search_space_from_cfg(dict(model=dict()))
