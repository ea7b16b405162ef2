from autodeploy.cli import main

raise SystemExit(main())
