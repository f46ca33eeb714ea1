from kopek.cli import main

raise SystemExit(main())
