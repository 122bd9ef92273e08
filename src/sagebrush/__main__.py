from __future__ import annotations

from sagebrush.cli.main import main

raise SystemExit(main())
