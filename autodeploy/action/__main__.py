import sys

from autodeploy.action import main

sys.exit(main(sys.argv[1:]))
