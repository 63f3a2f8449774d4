"""``python -m kitgen``."""

from kitgen.entry import main

main()
