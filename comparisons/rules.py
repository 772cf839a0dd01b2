"""Match subsystem histogram rules to the histograms of a DQM file.

A rule path is relative to the subsystem folder (``main_gdir``). Its last part
may hold shell wildcards (``*``, ``?``, ``[...]``) matched case-sensitively
against the object names of that folder. The earlier parts are literal folder
names. Only histograms match: DQM also stores integers and strings as keys
such as ``<name>i=5</name>``, and those never match.
"""

import fnmatch
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from runs import rootio

logger = logging.getLogger(__name__)

# Takes a folder path relative to the subsystem folder ("" for the folder
# itself) and returns {object name: classname}, or {} when the folder is missing.
FolderLister = Callable[[str], Mapping[str, str]]


@dataclass(frozen=True)
class Match:
    """A histogram path selected by the rule at ``rule_index``."""

    rule_index: int
    path: str


def _split_rule_path(rule_path: str) -> tuple[str, str]:
    parts = [part for part in str(rule_path).split("/") if part]
    if not parts:
        raise ValueError(f"empty histogram rule path {rule_path!r}")
    return "/".join(parts[:-1]), parts[-1]


def _name_matches(name: str, pattern: str) -> bool:
    # An exact name always matches, so literal "[" in a name is not taken as a set.
    return name == pattern or fnmatch.fnmatchcase(name, pattern)


def expand_rule(list_folder: FolderLister, rule_path: str) -> list[str]:
    """Return the histogram paths that ``rule_path`` selects, sorted by name.

    ``list_folder`` maps a folder path to {object name: classname}; see
    ``folder_lister`` for one built on an open subsystem folder.
    """
    folder, pattern = _split_rule_path(rule_path)
    objects = list_folder(folder)
    names = sorted(
        name
        for name, classname in objects.items()
        if rootio.is_histogram_class(classname) and _name_matches(name, pattern)
    )
    return [f"{folder}/{name}" if folder else name for name in names]


def folder_lister(directory) -> FolderLister:
    """Build a cached FolderLister over an open subsystem folder."""
    cache: dict[str, Mapping[str, str]] = {}

    def list_folder(subpath: str) -> Mapping[str, str]:
        if subpath not in cache:
            folder = rootio.find_folder(directory, subpath)
            cache[subpath] = {} if folder is None else rootio.list_objects(folder)
        return cache[subpath]

    return list_folder


def rule_path_of(rule, index: int) -> str:
    """Path of a rule given as a mapping with "path" or an object with ``.path``."""
    path = rule.get("path") if isinstance(rule, Mapping) else getattr(rule, "path", None)
    if not isinstance(path, str) or not path.strip("/"):
        raise ValueError(f"histogram rule {index} has no valid 'path': {rule!r}")
    return path


def _excluded_paths(list_folder: FolderLister, excluded: Iterable) -> set[str]:
    paths: set[str] = set()
    for index, entry in enumerate(excluded):
        paths.update(expand_rule(list_folder, rule_path_of(entry, index)))
    return paths


def match_rules(directory, rules: list, excluded: Iterable = ()) -> tuple[list[Match], list[str]]:
    """Match ``rules`` (the ``hists`` list) against the subsystem folder ``directory``.

    Returns (matches in rule order, paths of the rules that matched no
    histogram), so the report can list those as missing from the data file.
    A histogram selected by several rules is kept once, for the first rule.
    Histograms selected by an ``excluded_hists`` entry (``{"path": ...}``,
    wildcards allowed) are dropped, and a rule whose histograms are all
    excluded is not reported as unmatched. Raises RootReadError when a folder
    cannot be read.
    """
    list_folder = folder_lister(directory)
    excluded_paths = _excluded_paths(list_folder, excluded)
    matches: list[Match] = []
    unmatched: list[str] = []
    claimed: set[str] = set()

    for index, rule in enumerate(rules):
        rule_path = rule_path_of(rule, index)
        paths = expand_rule(list_folder, rule_path)
        if not paths:
            unmatched.append(rule_path)
        for path in paths:
            if path not in claimed and path not in excluded_paths:
                matches.append(Match(index, path))
            claimed.add(path)

    logger.debug(
        "%d histograms matched, %d rules matched nothing, %d histograms excluded",
        len(matches), len(unmatched), len(excluded_paths),
    )
    return matches, unmatched


def concatenate_histograms(directory, relpath: str, siblings: list[str]) -> rootio.Histogram:
    """Read ``relpath`` and append the named sibling histograms bin after bin.

    Siblings are names in the same folder as ``relpath``. Every histogram is
    flattened (2D in row-major order, x index outermost) and the result is a
    1D histogram whose edges are bin numbers 0, 1, ..., n, because the original
    axes no longer apply. Entries are summed. Raises RootReadError naming a
    missing sibling.
    """
    main = rootio.read_histogram(directory, relpath)
    folder, _ = _split_rule_path(relpath)
    parts = [main]
    for sibling in siblings:
        sibling_path = f"{folder}/{sibling}" if folder else sibling
        parts.append(rootio.read_histogram(directory, sibling_path))

    values = np.concatenate([part.values.ravel() for part in parts])
    return rootio.Histogram(
        name=main.name,
        path=main.path,
        classname=main.classname,
        values=values,
        xedges=np.arange(values.size + 1, dtype=np.float64),
        yedges=None,
        xlabels=None,
        ylabels=None,
        entries=sum(part.entries for part in parts),
        title=main.title,
        xtitle="bin number (concatenated)",
        ytitle=main.ytitle if main.ndim == 1 else "",
    )


def concatenated_values(directory, relpath: str, siblings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Return (values, edges) of ``concatenate_histograms``."""
    combined = concatenate_histograms(directory, relpath, siblings)
    return combined.values, combined.xedges
