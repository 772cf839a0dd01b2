"""Parse CMS DQM file names and dataset names.

Offline (harvested) files are named
``DQM_V0001_R000355200__ZeroBias__Run2022C-PromptReco-v1__DQMIO.root`` and hold
every subsystem of one run of one dataset. Online files are named
``DQM_V0001_L1T_R000355200.root`` and hold one detector folder. Older files may
carry a prefix before ``DQM_V`` or a dataset name after the run number.
"""

import re
from dataclasses import dataclass
from typing import Optional

OFFLINE = "offline"
ONLINE = "online"

# The prefix is any text before "DQM_V" (for example "reference_"). The primary
# dataset and the era-processing part are separated by double underscores.
_OFFLINE_NAME = re.compile(
    r"^.*?DQM_V\d+_R(?P<run>\d+)"
    r"__(?P<primary>.+?)__(?P<era_processing>.+?)__(?P<tier>[A-Za-z0-9]+)\.root$"
)
# Online files, plus the old "DQM_V0001_<folder>_R<run>_<dataset>.root" variant.
_ONLINE_NAME = re.compile(
    r"^.*?DQM_V\d+_(?P<folder>[A-Za-z0-9][A-Za-z0-9_]*?)_R(?P<run>\d+)"
    r"(?:_(?P<primary>[^/]+?))?\.root$"
)


@dataclass(frozen=True)
class DqmName:
    """Run and dataset information parsed from a DQM file name."""

    run: int
    primary_dataset: str
    era: str
    processing: str
    kind: str
    folder: str = ""
    tier: str = ""

    @property
    def dataset(self) -> str:
        """Dataset written ``<primary>/<era>-<processing>``.

        The ``-<processing>`` part is left out when there is no processing,
        the ``/<era>`` part when there is no era (old online-style names that
        carry only a primary dataset), and the result is "" when the name
        carries no dataset at all (online files).
        """
        if not self.primary_dataset:
            return ""
        if not self.era:
            return self.primary_dataset
        if not self.processing:
            return f"{self.primary_dataset}/{self.era}"
        return f"{self.primary_dataset}/{self.era}-{self.processing}"


def _split_era_processing(text: str) -> tuple[str, str]:
    era, _, processing = text.partition("-")
    return era, processing


def _basename(filename: str) -> str:
    return str(filename).replace("\\", "/").rsplit("/", 1)[-1]


def parse_dqm_filename(filename: str) -> Optional[DqmName]:
    """Parse a DQM ROOT file name (a bare name, a path or a URL).

    Returns None when the name fits neither the offline nor the online pattern.
    """
    name = _basename(filename)

    match = _OFFLINE_NAME.match(name)
    if match:
        era, processing = _split_era_processing(match["era_processing"])
        return DqmName(
            run=int(match["run"]),
            primary_dataset=match["primary"],
            era=era,
            processing=processing,
            kind=OFFLINE,
            tier=match["tier"],
        )

    match = _ONLINE_NAME.match(name)
    if match:
        return DqmName(
            run=int(match["run"]),
            primary_dataset=match["primary"] or "",
            era="",
            processing="",
            kind=ONLINE,
            folder=match["folder"],
        )
    return None


def split_dataset(name: str) -> tuple[str, str, str]:
    """Split ``<primary>/<era>-<processing>`` into (primary, era, processing).

    The era and the processing are split on the first "-"; processing is ""
    when there is no "-" (``RelValHcal/CMSSW_1_7_0_pre12``). The DAS form
    ``/ZeroBias/Run2022C-PromptReco-v1/DQMIO`` is accepted too, and its data
    tier is dropped.
    """
    parts = str(name).strip().strip("/").split("/")
    if len(parts) not in (2, 3) or not all(parts):
        msg = (
            f"invalid dataset name {name!r}: expected "
            "'<primary dataset>/<era>-<processing>', "
            "for example 'ZeroBias/Run2022C-PromptReco-v1'"
        )
        raise ValueError(msg)
    era, processing = _split_era_processing(parts[1])
    if not era:
        msg = f"invalid dataset name {name!r}: the era before '-' is empty"
        raise ValueError(msg)
    return parts[0], era, processing
