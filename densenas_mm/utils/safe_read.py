"""Reading YAML and JSON files without running code, hanging or
overflowing the stack.

:func:`read_yaml_file` is the one reader of the project's YAML files
(architecture files, the subnet dicts handed to mmrazor):

- **safe**: only plain YAML (mappings, lists, strings, numbers, booleans,
  null); a Python tag such as ``!!python/object/apply:os.system`` is
  refused, never constructed;
- **bounded in size**: a file larger than ``max_bytes``
  (:data:`MAX_YAML_BYTES` by default) is refused before it is parsed, with
  its size and the limit;
- **fast**: libyaml's C loader (``yaml.CSafeLoader``) where PyYAML was
  built with it (a 60 MB file takes ~0.5 s instead of minutes), the
  pure-Python ``SafeLoader`` otherwise;
- **bounded in depth**: the event stream is walked first (iteratively, no
  recursion) and a document nested deeper than ``max_depth``
  (:data:`MAX_YAML_DEPTH`) is refused before anything is built, so a
  50,000-deep list gives a message instead of a ``RecursionError``.

Every refusal is a :class:`YamlFileError` (a ``ValueError``) naming the
file; callers re-raise it as their own error type.

:func:`read_json_file` reads the JSON files a run writes beside its
checkpoints (``arch/topk.json``, ``vis/history.json``): a damaged one is an
error naming the file and what to do, not a bare ``JSONDecodeError``.
"""
import json
import os
from typing import Any, Optional

from densenas_mm.utils.io import directory_given

#: Default size limit of a YAML file (an architecture file is a few kB).
MAX_YAML_BYTES = 8 * 1024 * 1024
#: Default nesting limit (architecture files nest 6 levels).
MAX_YAML_DEPTH = 64


class YamlFileError(ValueError):
    """A YAML file that is too large, too deep, not valid or not plain."""


def yaml_loader() -> type:
    """The safe loader class: libyaml's ``CSafeLoader`` if available, else
    PyYAML's ``SafeLoader``."""
    import yaml
    return getattr(yaml, 'CSafeLoader', yaml.SafeLoader)


def check_size(path: str, max_bytes: int, what: str = 'file') -> int:
    """Refuse a file larger than ``max_bytes``.

    Args:
        path (str): The file.
        max_bytes (int): The limit.
        what (str): What the file is, for the message.

    Returns:
        int: The file's size in bytes.

    Raises:
        YamlFileError: If the file is larger, naming size and limit.
    """
    size = os.path.getsize(path)
    if size > max_bytes:
        raise YamlFileError(
            f'{what} {path!r} is {size / 2**20:.1f} MiB ({size} bytes), '
            f'more than the limit of {max_bytes} bytes; it is not a file '
            'this tool writes. Check the path, or pass a larger max_bytes '
            'if the file is really meant to be this large')
    return size


def _too_deep(where: str, max_depth: int, line: str = '') -> str:
    return (f'{where} is nested more than {max_depth} levels deep{line}; '
            'the files this project writes nest a few levels. The file is '
            'damaged or not one of ours')


def check_depth(text: str, max_depth: int, where: str) -> None:
    """Refuse YAML text nested deeper than ``max_depth``, walking its
    events without recursion and without building anything.

    Raises:
        YamlFileError: For a deeper document, naming the line.
    """
    import yaml
    depth = 0
    opening = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
    closing = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    for event in yaml.parse(text, Loader=yaml_loader()):
        if isinstance(event, opening):
            depth += 1
            if depth > max_depth:
                mark = event.start_mark
                line = f' (line {mark.line + 1})' if mark is not None else ''
                raise YamlFileError(_too_deep(where, max_depth, line))
        elif isinstance(event, closing):
            depth -= 1


def parse_yaml_text(text: str,
                    where: str = '<text>',
                    max_depth: int = MAX_YAML_DEPTH) -> Any:
    """Parse plain YAML text safely (see the module docstring).

    Args:
        text (str): The YAML (or JSON) text.
        where (str): The source, for messages (e.g. the file name).
        max_depth (int): Nesting limit.

    Returns:
        The parsed data (dicts, lists, scalars).

    Raises:
        YamlFileError: For invalid YAML, a Python tag or another
            non-plain tag, or a nesting deeper than ``max_depth``.
    """
    import yaml
    try:
        check_depth(text, max_depth, where)
        return yaml.load(text, Loader=yaml_loader())
    except yaml.constructor.ConstructorError as err:
        raise YamlFileError(
            f'{where}: refusing to read it: it holds a tag that is not plain '
            f'YAML ({str(err.problem).strip()}); nothing of it was run. '
            'Architecture files hold only mappings, lists, strings and '
            'numbers; remove the tagged entry or write the file again with '
            'DerivedArch.dump / densenas_mm.structures.dump_fix_subnet'
        ) from None
    except yaml.YAMLError as err:
        text = ' '.join(str(err).split())
        if 'maximum nesting depth' in text:  # libyaml's own limit (1000)
            raise YamlFileError(_too_deep(where, max_depth)) from None
        raise YamlFileError(f'{where}: not valid YAML ({text})') from None
    except RecursionError:
        raise YamlFileError(f'{where} is nested too deeply to read; the file '
                            'is damaged or not one of ours') from None


def read_yaml_file(path: str,
                   what: str = 'YAML file',
                   max_bytes: Optional[int] = None,
                   max_depth: int = MAX_YAML_DEPTH) -> Any:
    """Read a YAML (or JSON) file safely (see the module docstring).

    Args:
        path (str): The file.
        what (str): What it is, for messages (e.g. ``'architecture file'``).
        max_bytes (int, optional): Size limit (:data:`MAX_YAML_BYTES`).
        max_depth (int): Nesting limit.

    Returns:
        The parsed data.

    Raises:
        YamlFileError: If the file is missing, a directory, too large,
            not UTF-8, not valid YAML, tagged or nested too deeply.
    """
    path = os.fspath(path)
    given_dir = directory_given(path, what, '.yaml/.json')
    if given_dir:
        raise YamlFileError(given_dir)
    if not os.path.isfile(path):
        raise YamlFileError(f'{what} {path!r} does not exist')
    check_size(path, MAX_YAML_BYTES if max_bytes is None else max_bytes,
               what)
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except UnicodeDecodeError as err:
        raise YamlFileError(f'{what} {path!r} is not UTF-8 text ({err}); it '
                            'is not a YAML file') from None
    return parse_yaml_text(text, path, max_depth)


def use_safe_yaml_in_mmengine() -> None:
    """Opt in: make ``mmengine.fileio.load`` read ``.yaml`` / ``.yml``
    files with :func:`parse_yaml_text` (plain YAML only, depth-limited)
    instead of PyYAML's full loader, which constructs Python objects from
    tags such as ``!!python/object/apply``.

    mmengine's loader is what mmrazor's ``load_fix_subnet`` and
    ``sub_model`` use for a ``fix_subnet`` given as a path. This is never
    applied on import: call it once in a process that passes file paths to
    those functions (the documented route passes a dict instead, read by
    :func:`densenas_mm.structures.load_fix_subnet_dict`). Writing is left
    as it is. Calling it again does nothing more.
    """
    from mmengine.fileio.handlers import file_handlers
    from mmengine.fileio.handlers.yaml_handler import YamlHandler

    class SafeYamlHandler(YamlHandler):
        """mmengine's YAML handler, reading plain YAML only."""

        def load_from_fileobj(self, file, **kwargs):
            if kwargs:
                raise TypeError('the safe YAML reader takes no loader '
                                f'options, got {sorted(kwargs)}')
            # mmengine passes the text as a StringIO: no file name
            where = getattr(file, 'name', 'YAML read by mmengine.fileio')
            return parse_yaml_text(file.read(), str(where))

    for ext in ('yaml', 'yml'):
        if type(file_handlers.get(ext)).__name__ != 'SafeYamlHandler':
            file_handlers[ext] = SafeYamlHandler()


def read_json_file(path: str,
                   what: str,
                   fix: str,
                   max_bytes: Optional[int] = None) -> Any:
    """Read a JSON file, or fail with one message naming it and the fix.

    Args:
        path (str): The file.
        what (str): What it is (e.g. ``'the top-k record'``).
        fix (str): What the user can do about a damaged file.
        max_bytes (int, optional): Size limit (:data:`MAX_YAML_BYTES`).

    Returns:
        The parsed data.

    Raises:
        ValueError: For a missing, oversized, non-UTF-8, invalid or too
            deeply nested file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f'{what} {path!r} does not exist or is not a file. '
                         f'{fix}')
    try:
        check_size(path, MAX_YAML_BYTES if max_bytes is None else max_bytes,
                   what)
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except YamlFileError as err:
        raise ValueError(f'{err}. {fix}') from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f'{what} {path!r} is damaged (not valid JSON: '
                         f'{err}). {fix}') from None
    except RecursionError:
        raise ValueError(f'{what} {path!r} is nested too deeply to read; it '
                         f'is damaged. {fix}') from None
