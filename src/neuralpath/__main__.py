from neuralpath.cli import main

raise SystemExit(main())
