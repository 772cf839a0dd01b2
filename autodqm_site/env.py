"""Read settings from environment variables, failing loudly on bad values.

Django settings import these helpers; nothing here reads the environment at
import time.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_str(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    msg = f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off"
    raise ImproperlyConfigured(msg)


def env_int(name, default):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        msg = f"{name}={raw!r} is not a whole number"
        raise ImproperlyConfigured(msg) from None


def env_float(name, default):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        msg = f"{name}={raw!r} is not a number"
        raise ImproperlyConfigured(msg) from None


def env_list(name, default=()):
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_path(name, default):
    """Return the folder named by `name` (or `default`), made absolute."""
    raw = os.environ.get(name)
    path = Path(raw).expanduser() if raw else Path(default)
    return path.resolve()
