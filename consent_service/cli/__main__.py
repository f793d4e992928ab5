"""`python -m consent_service.cli …`: the console script `consent-service`, without its wrapper."""

from consent_service.cli.main import main

raise SystemExit(main())
