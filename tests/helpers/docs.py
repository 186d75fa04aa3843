"""Paths, commands and command marks of the project's Markdown documents.

Used by ``tests/test_docs.py`` and ``tests/test_docs_run.py``: every path a
document names must exist in the repository or be written by a step the
documents describe, every documented command line must parse with the tool
it calls, and every shell block carries a mark in its fence's info string
that says what CI does with its commands:

- ```` ```bash run ````: CI runs the commands, in document order, reduced
  (``tests/helpers/doc_runs.py`` says how);
- ```` ```bash check ````: commands that need what a fresh clone lacks
  (ImageNet, a GPU, Slurm, hours, a second demo run), synopses with
  placeholders, and commands another document's ``run`` block runs with
  the same tool and config; CI parses their arguments with the tool's parser, loads the
  configs they name (with their ``--cfg-options``) and runs each tool's
  ``--help``.

Renderers (GitHub included) highlight by the info string's first word, so
a reader sees an ordinary bash block. A shell block without a mark, and a
fence without a language (use ``text`` for output and diagrams), fail
``tests/test_docs.py``, naming the file and line.
"""
import os
import os.path as osp
import re
import shlex
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Tuple

from helpers import REPO_ROOT

#: The documents checked.
DOCS = ('README.md', 'docs', 'configs/densenas/README.md',
        'resources/latency/README.md')
#: Folders of the repository a path may point into.
REPO_DIRS = ('configs', 'tools', 'docs', 'densenas_mm', 'resources', 'tests',
             'requirements', '.ci')
REPO_FILES = ('Makefile', 'setup.cfg', 'setup.py', 'requirements.txt',
              'README.md')
#: Folders written by runs (work dirs) or by data-preparation steps.
OUTPUT_DIRS = ('work_dirs', 'data')
#: Inputs the user provides, as README's "Data preparation" documents.
USER_INPUTS = ('data/imagenet', 'data/my_images')
#: Options whose value is a path the command writes.
OUT_OPTIONS = ('--out', '--out-dir', '--work-dir', '--json')
#: Tools whose n-th positional argument is the file they write.
POSITIONAL_OUT = {
    'tools/model_converters/supernet_to_subnet.py': 2,
    'tools/analysis/random_arch.py': 1,
}

_PATH = re.compile(r'(?<![\w./$-])((?:\.\./)?(?:' +
                   '|'.join(re.escape(d)
                            for d in REPO_DIRS + OUTPUT_DIRS + ('shared', )) +
                   r')/[A-Za-z0-9_./*<>{}$\[\]-]*)')
_FILE = re.compile(r'(?<![\w./-])(' + '|'.join(re.escape(f)
                                               for f in REPO_FILES) +
                   r')(?![\w.-])')
_LINK = re.compile(r'\]\(([^)\s]+)\)')
_ABSOLUTE = re.compile(
    r'(?<![\w.:/])(/(?:work|home|root|tmp|mnt)/[^\s`\'")]+)')
_FENCE = re.compile(r'^```(\w*)(?:[ \t]+(\S+))?\s*$')
_PLACEHOLDER = re.compile(r'(^|/)[A-Z][A-Z0-9_]*(?=/|\.|$)')


#: Languages of the blocks whose lines are shell commands.
SHELL_LANGS = ('bash', 'shell', 'sh')
#: The marks of a shell block (the info string's second word).
MARKS = ('run', 'check')


@dataclass
class Block:
    """A fenced block: language, mark, the line of its opening fence."""
    lang: str
    mark: Optional[str]
    line: int
    text: str


@dataclass
class Doc:
    """A Markdown document: its path, prose and code blocks."""
    path: str
    text: str

    @property
    def rel(self) -> str:
        return osp.relpath(self.path, REPO_ROOT)

    def blocks(self) -> Iterator[Block]:
        """Every fenced block, with its language and mark."""
        block, lines = None, []
        for number, line in enumerate(self.text.splitlines(), 1):
            m = _FENCE.match(line.strip())
            if m and block is None:
                block, lines = Block(m.group(1), m.group(2), number, ''), []
            elif line.strip() == '```' and block is not None:
                block.text = '\n'.join(lines)
                yield block
                block = None
            elif block is not None:
                lines.append(line)

    def code_blocks(self) -> Iterator[Tuple[str, str]]:
        """``(language, text)`` of every fenced block."""
        for block in self.blocks():
            yield block.lang, block.text

    def mark_problems(self) -> List[str]:
        """``file:line: problem`` for every fence without a language and
        every shell block without a valid mark."""
        problems = []
        for block in self.blocks():
            where = f'{self.rel}:{block.line}'
            if not block.lang:
                problems.append(
                    f'{where}: a fence without a language (write ```text '
                    'for output or a diagram, ```bash run / ```bash check '
                    'for commands)')
            elif block.lang in SHELL_LANGS and block.mark not in MARKS:
                problems.append(
                    f'{where}: shell block marked {block.mark!r}: mark it '
                    f'```{block.lang} run (CI runs it, reduced) or '
                    f'```{block.lang} check (CI parses it and loads its '
                    'configs), see tests/helpers/docs.py')
        return problems

    def inline_code(self) -> List[str]:
        """Text of every inline code span outside fenced blocks."""
        prose = re.sub(r'^```.*?^```', '', self.text, flags=re.S | re.M)
        return re.findall(r'`([^`\n]+)`', prose)


def documents() -> List[Doc]:
    """The documents of :data:`DOCS`."""
    found = []
    for entry in DOCS:
        path = osp.join(REPO_ROOT, entry)
        files = ([osp.join(path, f) for f in sorted(os.listdir(path))
                  if f.endswith('.md')] if osp.isdir(path) else [path])
        for f in files:
            with open(f, encoding='utf-8') as fh:
                found.append(Doc(f, fh.read()))
    return found


# ----------------------------------------------------------------- paths
def is_placeholder(path: str) -> bool:
    """Paths with a placeholder part (``NAME``, ``<name>``, ``*``, ...)."""
    return bool(
        re.search(r'[<>*{}$\[\]]|\.\.\.', path) or _PLACEHOLDER.search(path))


def paths_in(text: str) -> List[str]:
    """Path tokens in ``text``: repository-relative ones and absolute ones
    of a developer's machine (always wrong in a document)."""
    found = [m.group(1).rstrip('.,:;)') for m in _PATH.finditer(text)]
    found += [m.group(1) for m in _ABSOLUTE.finditer(text)]
    found += [m.group(1) for m in _FILE.finditer(text)]
    return [p for p in found if p and not p.endswith('/.')]


def links_in(doc: Doc) -> List[str]:
    """Relative link targets of a document, resolved to the repository."""
    out = []
    for target in _LINK.findall(doc.text):
        if re.match(r'^[a-z]+:', target) or target.startswith('#'):
            continue
        target = target.split('#', 1)[0]
        out.append(
            osp.relpath(
                osp.normpath(osp.join(osp.dirname(doc.path), target)),
                REPO_ROOT))
    return out


# -------------------------------------------------------------- commands
@dataclass
class Command:
    """One documented command line (continuations joined)."""
    doc: str
    argv: List[str]
    text: str
    line: int = 0
    mark: Optional[str] = None
    #: ``VAR=value`` words before the command (its environment).
    env: Dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """``document:line`` of the command's first line."""
        return f'{self.doc}:{self.line}'


def _logical_lines(block: str) -> Iterator[Tuple[int, str]]:
    """``(offset of the first line, text)`` of every logical line."""
    buf, first = '', 0
    for offset, line in enumerate(block.splitlines()):
        stripped = line.rstrip()
        if not buf:
            first = offset
        if stripped.endswith('\\'):
            buf += stripped[:-1] + ' '
            continue
        yield first, buf + stripped
        buf = ''
    if buf:
        yield first, buf


def commands(doc: Doc) -> Iterator[Command]:
    """Shell commands of the bash / shell blocks of ``doc``.

    ``NAME=value`` lines define variables used by later lines of the same
    block (``$NAME``); leading ``VAR=value`` words become the command's
    ``env``; a comment ends the command.
    """
    for block in doc.blocks():
        if block.lang not in SHELL_LANGS:
            continue
        variables: Dict[str, str] = {}
        for offset, line in _logical_lines(block.text):
            line = line.split(' #', 1)[0].strip()
            if not line or line.startswith('#'):
                continue
            assign = re.match(r'^([A-Z_]+)=(\S+)$', line)
            if assign:
                variables[assign.group(1)] = assign.group(2)
                continue
            for name, value in variables.items():
                line = line.replace(f'${name}', value)
            for part in re.split(r'\s*(?:&&|;)\s*', line):
                try:
                    argv = shlex.split(part)
                except ValueError:
                    argv = part.split()
                env = {}
                while argv and re.match(r'^[A-Z_]+=', argv[0]):
                    key, value = argv.pop(0).split('=', 1)
                    env[key] = value
                if argv:
                    yield Command(doc.rel, argv, part,
                                  block.line + 1 + offset, block.mark, env)


def tool_call(cmd: Command) -> Optional[Tuple[str, List[str]]]:
    """``(tool path, its arguments)`` of a command running a Python tool
    (directly or through the dist / slurm scripts), else None."""
    argv = cmd.argv
    if argv[0] in ('python', 'python3') and len(argv) > 1 and \
            argv[1].endswith('.py'):
        return argv[1], argv[2:]
    if argv[0] == 'bash' and len(argv) > 1:
        script, rest = argv[1], argv[2:]
        if script.endswith('dist_train.sh'):
            return 'tools/train.py', rest[:1] + rest[2:]
        if script.endswith('dist_test.sh'):
            return 'tools/test.py', rest[:2] + rest[3:]
        if script.endswith('slurm_train.sh'):
            return 'tools/train.py', rest[2:3] + ['--work-dir'] + rest[3:]
        if script.endswith('slurm_test.sh'):
            return 'tools/test.py', rest[2:]
    return None


def written_by(cmd: Command) -> List[str]:
    """Paths (files or folders) a documented command writes."""
    call = tool_call(cmd)
    out: List[str] = []
    args = cmd.argv + (call[1] if call else [])
    for opt in OUT_OPTIONS:
        for i, a in enumerate(args[:-1]):
            if a == opt:
                out.append(args[i + 1])
        out += [a.split('=', 1)[1] for a in args if a.startswith(opt + '=')]
    if call and call[0] in POSITIONAL_OUT:
        positional = [a for a in call[1] if not a.startswith('-')]
        if len(positional) > POSITIONAL_OUT[call[0]]:
            out.append(positional[POSITIONAL_OUT[call[0]]])
    if call and call[0] in ('tools/train.py', 'tools/test.py') and \
            '--work-dir' not in call[1] and call[1]:
        stem = osp.splitext(osp.basename(call[1][0]))[0]
        out.append(f'work_dirs/{stem}')
    if call and call[0] in ('tools/build_latency_lut.py',
                            'tools/analysis/import_reference_lut.py'):
        out.append('work_dirs/latency')  # the naming rule's folder
    if args[:2] in (['make', 'demo'], ['bash', 'tools/demo.sh']):
        out += ['work_dirs/demo', 'work_dirs/latency', 'data/demo_digits']
        # WORK_DIR=... before it (tools/demo.sh's work dir)
        out += re.findall(r'(?:^|\s)WORK_DIR=(\S+)', cmd.text)
    if cmd.argv[0] in ('cp', 'mkdir') and len(cmd.argv) > 1:
        out.append(cmd.argv[-1])
    return [o.rstrip('/') for o in out]
