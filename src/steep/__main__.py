from steep.cli import main

main()
