"""An in-process Cal.com API v2 simulator: the test upstream and the embedded default of `calproxy serve`."""

from __future__ import annotations
