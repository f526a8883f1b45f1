from failcast.cli import main

main()
