"""Import and export AutoDQM JSON subsystem configs.

Keys that have a model field are stored there. Every other key is kept in
`extra` and the original key order in `key_order`, so an export gives back
the same JSON content as the file that was imported.
"""

import json
import logging
from pathlib import Path

from django.db import transaction

from comparisons.comparators import available_comparators
from comparisons.models import HistogramRule, Subsystem

logger = logging.getLogger(__name__)

SUBSYSTEM_FIELDS = ["main_gdir", "comparators", "thresholds_fit", "sel_display", "excluded_hists"]
RULE_FIELDS = [
    "path", "comparators", "norm_type", "xmin", "xmax", "concatenate",
    "opts", "xlabels", "ylabels", "always_show", "jar_dir",
]
KNOWN_COMPARATORS = {"beta_binomial", "pull_values", "ks_test", "pca"}
NOT_SUBSYSTEM_FILES = {"main.json"}


class ConfigError(ValueError):
    """A subsystem config that cannot be used; the message names the config and the key."""


def _fail(name, message):
    raise ConfigError(f"config {name}: {message}")


def _check_string_list(name, where, value):
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        _fail(name, f"{where} must be a list of strings, got {value!r}")


def known_comparators():
    """Return the comparator names a config may use: the built-in ones and every registered one."""
    return KNOWN_COMPARATORS | set(available_comparators(include_unavailable=True))


def _check_comparators(name, where, value):
    _check_string_list(name, where, value)
    known = known_comparators()
    unknown = sorted(set(value) - known)
    if unknown:
        _fail(name, f"{where} names unknown comparators {unknown}; known: {sorted(known)}")


def _check_rule(name, index, rule):
    where = f"hists[{index}]"
    if not isinstance(rule, dict):
        _fail(name, f"{where} must be an object, got {rule!r}")
    if not isinstance(rule.get("path"), str) or not rule["path"].strip():
        _fail(name, f"{where} has no 'path'")
    where = f"{where} ({rule['path']})"
    if "comparators" in rule:
        _check_comparators(name, f"{where}.comparators", rule["comparators"])
    if rule.get("norm_type", "all") not in ("all", "row", "col"):
        _fail(name, f"{where}.norm_type must be all, row or col, got {rule['norm_type']!r}")
    for key in ("xmin", "xmax"):
        if key in rule and (isinstance(rule[key], bool) or not isinstance(rule[key], (int, float))):
            _fail(name, f"{where}.{key} must be a number, got {rule[key]!r}")
    for key in ("concatenate", "opts", "xlabels", "ylabels"):
        if key in rule:
            _check_string_list(name, f"{where}.{key}", rule[key])
    if "opts" in rule:
        from comparisons.comparators import parse_opts

        try:
            parse_opts(rule["opts"])
        except ValueError as error:
            _fail(name, f"{where}.opts: {error}")


def validate_rule(subsystem_name, position, rule):
    """Raise ConfigError unless `rule` (one `hists` entry as a dict) is usable."""
    _check_rule(subsystem_name, position, rule)


def validate_config(name, config):
    """Raise ConfigError unless `config` is a usable AutoDQM subsystem config."""
    if not isinstance(config, dict):
        _fail(name, "the file must hold a JSON object")
    if not isinstance(config.get("main_gdir"), str):
        _fail(name, "missing 'main_gdir' (the folder of the subsystem inside a DQM file)")
    if not isinstance(config.get("hists"), list):
        _fail(name, "missing 'hists' (the list of histogram rules)")
    if "comparators" in config:
        _check_comparators(name, "comparators", config["comparators"])
    for key in ("thresholds_fit", "excluded_hists", "sel_display"):
        if key in config and not isinstance(config[key], list):
            _fail(name, f"'{key}' must be a list")
    for index, rule in enumerate(config["hists"]):
        _check_rule(name, index, rule)


def read_config_file(path):
    """Return (name, config) of one JSON file; ConfigError when it is not valid JSON."""
    path = Path(path)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"config file {path}: cannot be read as JSON: {error}") from error
    return path.stem, config


def _rule_from_config(subsystem, position, entry):
    rule = HistogramRule(subsystem=subsystem, position=position, key_order=list(entry))
    rule.extra = {key: value for key, value in entry.items() if key not in RULE_FIELDS}
    for key in RULE_FIELDS:
        if key in entry:
            setattr(rule, key, entry[key])
    return rule


@transaction.atomic
def import_config(name, config, user=None, note="imported"):
    """Create or replace subsystem `name` from a config dict; return the Subsystem."""
    validate_config(name, config)
    subsystem, _ = Subsystem.objects.get_or_create(name=name, defaults={"main_gdir": config["main_gdir"]})
    subsystem.key_order = list(config)
    subsystem.extra = {key: value for key, value in config.items() if key not in SUBSYSTEM_FIELDS + ["hists"]}
    for key in SUBSYSTEM_FIELDS:
        setattr(subsystem, key, config.get(key))
    subsystem.save()
    subsystem.rules.all().delete()
    HistogramRule.objects.bulk_create(
        _rule_from_config(subsystem, position, entry) for position, entry in enumerate(config["hists"])
    )
    subsystem.record_version(user=user, note=note)
    return subsystem


def _plain_number(value):
    # FloatField turns a JSON 60 into 60.0; give back the integer the file had.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _ordered(values, key_order):
    ordered = {key: values[key] for key in key_order if key in values}
    ordered.update((key, value) for key, value in values.items() if key not in ordered)
    return ordered


def rule_to_config(rule):
    values = {"path": rule.path}
    for key in RULE_FIELDS[1:]:
        value = getattr(rule, key)
        if value is None or value == "":
            continue
        values[key] = _plain_number(value)
    values.update(rule.extra or {})
    return _ordered(values, rule.key_order or [])


def subsystem_to_config(subsystem):
    """Return the subsystem as an AutoDQM JSON config dict."""
    values = {"main_gdir": subsystem.main_gdir}
    for key in SUBSYSTEM_FIELDS[1:]:
        value = getattr(subsystem, key)
        if value is not None:
            values[key] = value
    values["hists"] = [rule_to_config(rule) for rule in subsystem.rules.order_by("position", "id")]
    values.update(subsystem.extra or {})
    return _ordered(values, subsystem.key_order or [])


def load_config_folder(folder, only_new=False):
    """Import every subsystem JSON file of `folder`; return (loaded names, error messages).

    With `only_new`, subsystems already in the database are left as they are,
    so edits made in the admin survive a restart that loads the folder again.
    """
    loaded, errors = [], []
    for path in sorted(Path(folder).glob("*.json")):
        if path.name in NOT_SUBSYSTEM_FILES:
            continue
        if only_new and Subsystem.objects.filter(name=path.stem).exists():
            continue
        try:
            name, config = read_config_file(path)
            import_config(name, config, note=f"loaded from {path}")
        except ConfigError as error:
            logger.error("%s", error)
            errors.append(str(error))
            continue
        loaded.append(name)
    return loaded, errors
