"""Read DQM histograms (monitor elements) from ROOT files with uproot.

Real DQM files have quirks this module copes with:

* Some key names contain "/" (DQM stores metadata as TObjStrings named like
  ``<ReleaseTag>s=CMSSW_2_1_9</ReleaseTag>``). uproot's ``dir[path]`` and
  ``dir.key(path)`` split on "/", so folders are walked one level at a time and
  names are compared exactly.
* The same key can be stored with several cycles (``name;1``, ``name;2``); the
  highest cycle is the current one, as in ROOT.
* Three folder layouts exist: ``DQMData/Run N/<Subsys>/Run summary/...``
  (2008 onwards), ``DQMData/<Subsys>/...`` (2007) and ``<Subsys>/Run summary/...``
  (no ``DQMData`` level).

Bin contents are returned as they are stored: negative contents are kept and
TProfile/TProfile2D give bin means. Under- and overflow bins are dropped.
"""

import logging
import os
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

import numpy as np
import uproot
import uproot.deserialization

logger = logging.getLogger(__name__)

DIRECTORY_CLASSES = frozenset({"TDirectory", "TDirectoryFile"})

# TH1C/S/I/L/F/D, TH2C/S/I/L/F/D, TProfile and TProfile2D. TH3, TProfile3D,
# TH2Poly and graphs are not histograms for this tool.
_HISTOGRAM_CLASS = re.compile(r"TH[12][CSILFD]|TProfile|TProfile2D")

# Exceptions that uproot and the decompressors raise on truncated or corrupt input.
_READ_ERRORS = (
    OSError,
    ValueError,
    EOFError,
    KeyError,
    IndexError,
    struct.error,
    zlib.error,
    uproot.deserialization.DeserializationError,
)

_ROOT_MAGIC = b"root"


class RootReadError(Exception):
    """A ROOT file, folder or histogram that cannot be read.

    ``file`` is the path of the ROOT file and ``path`` the histogram or folder
    path inside it (None when the whole file is at fault).
    """

    def __init__(self, file, path: Optional[str], reason: str):
        self.file = str(file)
        self.path = path
        self.reason = reason
        where = f"{self.file}: {path}" if path else self.file
        super().__init__(f"{where}: {reason}")


@dataclass
class Histogram:
    """One histogram read from a DQM file, without under- and overflow bins.

    ``values`` has shape (nx,) or (nx, ny). Labels are lists with one string
    per bin ("" for unlabelled bins) or None when the axis has no labels.
    """

    name: str
    path: str
    classname: str
    values: np.ndarray
    xedges: np.ndarray
    yedges: Optional[np.ndarray]
    xlabels: Optional[list[str]]
    ylabels: Optional[list[str]]
    entries: float
    title: str
    xtitle: str
    ytitle: str

    @property
    def ndim(self) -> int:
        """Number of axes: 1 or 2."""
        return self.values.ndim

    @property
    def total(self) -> float:
        """Sum of the bin contents (negative contents included)."""
        return float(self.values.sum())


def is_histogram_class(classname: str) -> bool:
    """Check whether objects of this ROOT class are read as histograms."""
    return _HISTOGRAM_CLASS.fullmatch(classname) is not None


# ---------------------------------------------------------------- files


def file_path_of(directory) -> str:
    """Path of the ROOT file that an open uproot directory belongs to."""
    return directory.file.file_path


def _check_header(path) -> None:
    """Raise RootReadError unless ``path`` is an existing file starting with "root"."""
    if not os.path.exists(path):
        raise RootReadError(path, None, "file not found")
    if not os.path.isfile(path):
        raise RootReadError(path, None, "not a regular file")
    with open(path, "rb") as stream:
        magic = stream.read(len(_ROOT_MAGIC))
    if magic != _ROOT_MAGIC:
        raise RootReadError(path, None, "not a ROOT file (it does not start with 'root')")


def _check_length(root, path) -> None:
    """Raise RootReadError when the file is shorter than the fEND in its header."""
    expected = root.file.fEND
    actual = os.path.getsize(path)
    if actual < expected:
        reason = f"truncated file: {actual} bytes on disk, but the header records {expected}"
        raise RootReadError(path, None, reason)


def open_root(path):
    """Open a ROOT file and return its top directory.

    The result is an uproot ``ReadOnlyDirectory`` and works as a context
    manager (``with open_root(p) as root: ...``), which closes the file.
    Raises RootReadError for missing, non-ROOT, truncated or corrupt files.
    """
    path = os.fspath(path)
    _check_header(path)
    try:
        root = uproot.open(path)
    except _READ_ERRORS as error:
        raise RootReadError(path, None, f"cannot open as a ROOT file ({error})") from error
    try:
        _check_length(root, path)
    except RootReadError:
        root.close()
        raise
    return root


def is_readable_root(path) -> tuple[bool, Optional[str]]:
    """Check cheaply that ``path`` is a complete ROOT file.

    Opens the file and lists its top folder without reading any histogram.
    Returns (True, None) or (False, reason).
    """
    try:
        with open_root(path) as root:
            list_objects(root)
    except RootReadError as error:
        return False, error.reason
    return True, None


# ---------------------------------------------------------------- folders


_CYCLES_ATTRIBUTE = "_autodqm_highest_cycles"
_SUBFOLDERS_ATTRIBUTE = "_autodqm_subfolders"


def _highest_cycles(directory) -> dict[str, tuple[int, str]]:
    """Map each key name of one folder to (highest cycle, classname).

    The map is kept on the directory object: a comparison looks up thousands
    of histograms in the same few folders, and rebuilding it for each lookup
    made reading quadratic in the folder size.
    """
    cached = getattr(directory, _CYCLES_ATTRIBUTE, None)
    if cached is None:
        cached = _scan_cycles(directory)
        setattr(directory, _CYCLES_ATTRIBUTE, cached)
    return cached


def _scan_cycles(directory) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for name_cycle, classname in directory.iterclassnames(recursive=False, cycle=True):
        name, _, cycle_text = name_cycle.rpartition(";")
        cycle = int(cycle_text)
        # ROOT compares cycles by absolute value (negative cycles mark deleted keys).
        if name not in found or abs(cycle) > abs(found[name][0]):
            found[name] = (cycle, classname)
    return found


def list_objects(directory) -> dict[str, str]:
    """Map every object name of one folder to its classname.

    Only the highest cycle of each name counts. Sub-folders, TObjStrings and
    other non-histograms are included so that callers can skip them.
    """
    try:
        cycles = _highest_cycles(directory)
    except _READ_ERRORS as error:
        raise _read_failed(directory, None, error) from error
    return {name: classname for name, (_, classname) in cycles.items()}


def _read_key(directory, name: str, cycle: int):
    """Read one object of one folder by its exact name and cycle."""
    if "/" not in name:
        return directory.key(f"{name};{cycle}").get()
    # dir.key() would split this name on "/", so filter the folder's keys instead.
    expected_key = f"{name};{cycle}"
    items = directory.iteritems(
        recursive=False, cycle=True, filter_name=lambda key_name: key_name == name
    )
    for name_cycle, obj in items:
        if name_cycle == expected_key:
            return obj
    raise KeyError(expected_key)


def _directory_path(directory) -> str:
    # uproot stores the folder path as a tuple of names, so names with "/" survive.
    return "/".join(directory.path)


def _error_at(directory, relpath: Optional[str], reason: str) -> RootReadError:
    """RootReadError for ``relpath`` below ``directory``, with the folder path prefixed."""
    base = _directory_path(directory)
    path = "/".join(part for part in (base, relpath) if part) or None
    return RootReadError(file_path_of(directory), path, reason)


def _read_failed(directory, relpath: Optional[str], error: Exception) -> RootReadError:
    return _error_at(directory, relpath, f"read failed ({error})")


def _subdirectory(directory, name: str):
    """Return the sub-folder ``name`` of ``directory``, or None if there is none."""
    subfolders = getattr(directory, _SUBFOLDERS_ATTRIBUTE, None)
    if subfolders is None:
        subfolders = {}
        setattr(directory, _SUBFOLDERS_ATTRIBUTE, subfolders)
    if name not in subfolders:
        entry = _highest_cycles(directory).get(name)
        found = entry is not None and entry[1] in DIRECTORY_CLASSES
        subfolders[name] = _read_key(directory, name, entry[0]) if found else None
    return subfolders[name]


def _walk(directory, parts: list[str]):
    """Follow folder names one level at a time. Returns None when one is missing."""
    for part in parts:
        directory = _subdirectory(directory, part)
        if directory is None:
            return None
    return directory


def _split_folder_path(folder: str) -> list[str]:
    return [part for part in folder.split("/") if part]


# ---------------------------------------------------------------- main_gdir


def _folder_candidates(main_gdir: str, run: int) -> list[list[str]]:
    """List the folder paths to try for ``main_gdir``, most specific first.

    The configured path comes first, then the same path without the
    "Run {0}" level, then also without "Run summary" (2007 files), then the
    last two again without a leading "DQMData" (files starting at
    ``<Subsys>/``). A ``main_gdir`` without ``{0}`` is a fixed folder and is
    tried as it is.
    """
    template = _split_folder_path(main_gdir)
    full = [part.replace("{0}", str(run)) for part in template]
    if "{0}" not in main_gdir:
        return [full]

    no_run = [part for part in full if part != f"Run {run}"]
    no_summary = [part for part in no_run if part != "Run summary"]
    candidates = [full, no_run, no_summary]
    for parts in (no_run, no_summary):
        if parts and parts[0] == "DQMData":
            candidates.append(parts[1:])

    unique = []
    for parts in candidates:
        if parts and parts not in unique:
            unique.append(parts)
    return unique


def resolve_folder(file, main_gdir: str, run: int):
    """Find the subsystem folder ``main_gdir`` (``{0}`` is the run) in an open file.

    Falls back to the older layouts listed in ``_folder_candidates``. Raises
    RootReadError naming the file, the folder and the run when none exists.
    """
    candidates = _folder_candidates(main_gdir, run)
    try:
        for parts in candidates:
            directory = _walk(file, parts)
            if directory is not None:
                logger.debug("run %s: folder %s found as %s", run, main_gdir, parts)
                return directory
    except _READ_ERRORS as error:
        raise _read_failed(file, main_gdir, error) from error

    tried = ", ".join(repr("/".join(parts)) for parts in candidates)
    reason = f"subsystem folder for run {run} not found (tried {tried})"
    raise RootReadError(file_path_of(file), main_gdir, reason)


# ---------------------------------------------------------------- histograms


def _axis_labels(axis, nbins: int) -> Optional[list[str]]:
    """Return the bin labels of one axis, "" for unlabelled bins, or None without labels.

    uproot's ``TAxis.labels()`` returns None unless every bin is labelled, so
    the label list is read here: each label's fUniqueID is its bin number.
    """
    labels = axis.member("fLabels", none_if_missing=True)
    if not labels:
        return None
    out = [""] * nbins
    for position, label in enumerate(labels):
        number = label.member("@fUniqueID")
        index = number - 1 if 1 <= number <= nbins else position
        if index < nbins:
            out[index] = str(label)
    return out


def _axis_title(hist, axis_name: str) -> str:
    return str(hist.member(axis_name).member("fTitle"))


def to_histogram(hist, name: str, path: str) -> Histogram:
    """Convert an uproot TH1/TH2/TProfile/TProfile2D object to a Histogram."""
    values = np.asarray(hist.values(flow=False), dtype=np.float64)
    xaxis = hist.member("fXaxis")
    two_d = values.ndim == 2
    yaxis = hist.member("fYaxis") if two_d else None
    return Histogram(
        name=name,
        path=path,
        classname=hist.classname,
        values=values,
        xedges=np.asarray(hist.axis(0).edges(flow=False), dtype=np.float64),
        yedges=np.asarray(hist.axis(1).edges(flow=False), dtype=np.float64) if two_d else None,
        xlabels=_axis_labels(xaxis, values.shape[0]),
        ylabels=_axis_labels(yaxis, values.shape[1]) if two_d else None,
        entries=float(hist.member("fEntries")),
        title=str(hist.member("fTitle")),
        xtitle=_axis_title(hist, "fXaxis"),
        ytitle=_axis_title(hist, "fYaxis"),
    )


def _split_relpath(relpath: str) -> list[str]:
    parts = [part for part in str(relpath).split("/") if part]
    if not parts:
        raise ValueError(f"empty histogram path {relpath!r}")
    return parts


def _locate(directory, parts: list[str]):
    """Find (folder, name, cycle, classname) of the object at ``parts``.

    DQM key names may contain "/", so at each level the whole remaining path
    is first tried as one key name. Otherwise the first part must be a
    sub-folder. Returns None when nothing matches.
    """
    while parts:
        cycles = _highest_cycles(directory)
        whole = "/".join(parts)
        if whole in cycles:
            cycle, classname = cycles[whole]
            return directory, whole, cycle, classname
        if len(parts) == 1:
            return None
        directory = _subdirectory(directory, parts[0])
        if directory is None:
            return None
        parts = parts[1:]
    return None


def read_histogram(directory, relpath: str) -> Histogram:
    """Read the histogram at ``relpath`` (may contain sub-folders) below ``directory``.

    Takes the highest cycle. Raises RootReadError naming the file and the path
    when the object is missing, is not a 1D or 2D histogram, or cannot be read.
    """
    parts = _split_relpath(relpath)
    path = "/".join(parts)
    try:
        found = _locate(directory, parts)
        if found is None:
            raise _error_at(directory, path, "histogram not found")
        folder, name, cycle, classname = found
        if not is_histogram_class(classname):
            raise _error_at(directory, path, f"{classname} is not a 1D or 2D histogram")
        return to_histogram(_read_key(folder, name, cycle), name, path)
    except _READ_ERRORS as error:
        raise _read_failed(directory, path, error) from error


def find_folder(directory, subpath: str):
    """Return the sub-folder ``subpath`` ("a/b") of ``directory``, or None if missing.

    Raises RootReadError when a folder on the way cannot be read.
    """
    parts = [part for part in str(subpath).split("/") if part]
    try:
        return _walk(directory, parts)
    except _READ_ERRORS as error:
        raise _read_failed(directory, subpath, error) from error


def list_histograms(directory, subpath: str = "") -> dict[str, str]:
    """Map the histogram names of one folder to their classnames.

    ``subpath`` names a sub-folder of ``directory`` ("" for the folder
    itself). Non-histogram objects and sub-folders are left out. Raises
    RootReadError when the sub-folder does not exist.
    """
    folder = find_folder(directory, subpath)
    if folder is None:
        raise _error_at(directory, subpath.strip("/"), "folder not found")
    objects = list_objects(folder)
    return {name: cls for name, cls in objects.items() if is_histogram_class(cls)}


def walk_objects(directory, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Yield (path, classname) of every non-folder object below ``directory``.

    Paths are relative to ``directory`` with folders joined by "/". Nothing
    but the folder key lists is read, so this is cheap enough to index a file.
    """
    for name, (cycle, classname) in _highest_cycles(directory).items():
        path = f"{prefix}{name}"
        if classname in DIRECTORY_CLASSES:
            yield from walk_objects(_read_key(directory, name, cycle), f"{path}/")
        else:
            yield path, classname


def _read_for_walk(directory, name: str, cycle: int, classname: str, path: str):
    """Read one object for ``iter_all_histograms``: a Histogram, or why it is skipped."""
    if not is_histogram_class(classname):
        return f"skipped: {classname} is not a 1D or 2D histogram"
    try:
        return to_histogram(_read_key(directory, name, cycle), name, path)
    except _READ_ERRORS as error:
        logger.warning("%s: cannot read %s: %s", file_path_of(directory), path, error)
        return f"skipped: read failed ({error})"


def iter_all_histograms(file, prefix: str = "") -> Iterator[tuple[str, object]]:
    """Yield (full path, Histogram or reason) for every object in every folder.

    The reason is a string saying why the object is not returned as a
    histogram (its class, or the read error). Folders themselves are not
    yielded, only their contents.
    """
    try:
        cycles = _highest_cycles(file)
    except _READ_ERRORS as error:
        yield prefix.rstrip("/"), f"skipped: folder read failed ({error})"
        return
    for name, (cycle, classname) in cycles.items():
        path = f"{prefix}{name}"
        if classname not in DIRECTORY_CLASSES:
            yield path, _read_for_walk(file, name, cycle, classname, path)
            continue
        try:
            folder = _read_key(file, name, cycle)
        except _READ_ERRORS as error:
            yield path, f"skipped: folder read failed ({error})"
            continue
        yield from iter_all_histograms(folder, f"{path}/")
