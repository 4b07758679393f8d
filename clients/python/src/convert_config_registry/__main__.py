"""``python -m convert_config_registry``: the same command line as ``convert-config-registry``."""

import sys

from .cli import main

sys.exit(main())
